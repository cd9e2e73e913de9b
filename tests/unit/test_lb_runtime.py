"""Parsing what HAProxy 2.6's runtime API answers (captured from it), and the socket client."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from dockyard.lb.runtime import (
    RuntimeClient,
    RuntimeError_,
    check_output,
    parse_proc,
    parse_servers_state,
    parse_stat,
)

SERVERS_STATE = """1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
3 tg.web.abc 1 127.0.197.9:1 127.0.197.9 0 0 100 100 2 8 2 0 6 0 0 0 - 1 - 0 0 - - 0
3 tg.web.abc 2 fail-open:127.0.197.9:1 127.0.197.9 2 0 100 100 2 1 0 2 0 0 0 0 - 1 - 0 0 - - 0
3 tg.web.abc 3 127.0.197.10:1 127.0.197.10 0 5 100 100 2 1 0 0 14 0 0 0 - 1 - 0 0 - - 0
3 tg.web.abc 4 127.0.197.11:8080 127.0.197.11 2 8 100 100 2 1 0 0 14 0 0 0 - 8080 - 0 0 - - 0
3 tg.web.abc 5 127.0.197.12:8080 127.0.197.12 2 4 100 100 2 1 0 0 14 0 0 0 - 8080 - 0 0 - - 0

"""  # noqa: E501

_HEADER = (
    "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,"
    "weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,"
    "rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,"
    "hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,"
    "lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,"
    "agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,"
)
STAT = "\n".join(
    [
        _HEADER,
        "tg.web.abc,127.0.197.9:1,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN,100,1,0,1,1,3,3,,1,3,1,,0,,2,0,,0,L4CON,,0,"
        "0,0,0,0,0,0,,,,0,0,0,,,,,-1,Connection refused,,0,0,0,0,,,,Layer4 connection problem,,2,2,0,,,,"
        "127.0.197.9:1,,http,",
        "tg.web.abc,fail-open:127.0.197.9:1,0,0,0,0,,0,0,0,,0,,0,0,0,0,no check,100,0,1,,,3,,,1,3,2,,0,,2,0,,"
        "0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,127.0.197.9:1,,http,",
        "tg.web.abc,127.0.197.12:80,0,0,3,3,,9,0,0,,0,,0,0,0,0,DOWN 1/2,100,1,0,1,1,3,3,,1,3,1,,0,,2,0,,0,"
        "* L7STS,503,1,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0,0,0,,,,Layer7 wrong status,,2,2,1,,,,"
        "127.0.197.12:80,,http,",
        "",
    ]
)

PROC = """#<PID>          <type>          <reloads>       <uptime>        <version>
19892           master          3 [failed: 1]   0d00h00m03s     2.6.12-1+deb12u3
# workers
20001           worker          0               0d00h00m01s     2.6.12-1+deb12u3
19895           worker          1               0d00h00m03s     2.6.12-1+deb12u3
# programs

"""


def test_servers_state() -> None:
    servers = parse_servers_state(SERVERS_STATE)
    assert [(s.backend, s.name, s.address, s.port) for s in servers] == [
        ("tg.web.abc", "127.0.197.9:1", "127.0.197.9", 1),
        ("tg.web.abc", "fail-open:127.0.197.9:1", "127.0.197.9", 1),
        ("tg.web.abc", "127.0.197.10:1", "127.0.197.10", 1),
        ("tg.web.abc", "127.0.197.11:8080", "127.0.197.11", 8080),
        ("tg.web.abc", "127.0.197.12:8080", "127.0.197.12", 8080),
    ]
    # 5 = forced + config MAINT (written `disabled`); 4 = the config flag left after `state ready`
    assert [s.in_maintenance for s in servers] == [False, False, True, False, False]


def test_stat() -> None:
    down, backup, rising = parse_stat(STAT)
    assert (down.status, down.check_status, down.down, down.up) == ("DOWN", "L4CON", True, False)
    assert (backup.name, backup.up) == ("fail-open:127.0.197.9:1", True)
    assert (rising.check_status, rising.check_code, rising.check_health, rising.sessions) == (
        "L7STS",
        "503",
        1,
        3,
    )


def test_proc_counts_reloads_and_current_workers() -> None:
    info = parse_proc(PROC)
    assert (info.reloads, info.failed, info.workers) == (3, 1, 1)


def test_check_output() -> None:
    check_output("add server x/y 1.2.3.4:80", "New server registered.\n\n")
    check_output("set server x/y state ready", "\n")
    with pytest.raises(RuntimeError_, match="No such server"):
        check_output("del server x/nope", "No such server.\n\n")


async def test_client_sends_one_line_per_connection(tmp_path: Path) -> None:
    received: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = await reader.readline()
        received.append(line)
        writer.write(b"Name: HAProxy\n" if line.startswith(b"show info") else b"No such server.\n")
        await writer.drain()
        writer.close()

    admin, master = tmp_path / "admin.sock", tmp_path / "master.sock"
    servers = [await asyncio.start_unix_server(answer, path=str(p)) for p in (admin, master)]
    try:
        client = RuntimeClient(admin, master)
        assert await client.alive()
        with pytest.raises(RuntimeError_, match="No such server"):
            await client.execute("del server a/b")
        await client.master("show proc")
        assert received == [b"show info\n", b"del server a/b\n", b"show proc;quit\n"]
    finally:
        for server in servers:
            server.close()
    with pytest.raises(RuntimeError_, match="cannot reach HAProxy"):
        await RuntimeClient(tmp_path / "gone.sock", master).command("show info")
