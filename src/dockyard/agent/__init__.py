"""The agent: registers a host with a cluster, runs the tasks placed on it, reports their state.

It talks to the control plane only over HTTP (never importing the server's modules), so an agent
on another host behaves exactly like a local one.
"""
