#!/bin/sh
# dockyard/hello: answers one HTTP/1.0 or HTTP/1.1 request on stdin/stdout (run by `nc -ll -e`
# once per connection, so connections are served concurrently), in the spirit of nginxdemos/hello.
# The body names the ECS task, the container's hostname and addresses, the request and the date,
# as text, or as JSON when the path ends in .json or the client accepts application/json.
CR=$(printf '\r')

json_escape() {
    printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'
}

respond() { # status, content type, body
    length=$(printf '%s\n' "$3" | wc -c)
    printf 'HTTP/1.1 %s\r\nServer: dockyard-hello\r\nDate: %s\r\nContent-Type: %s\r\n' \
        "$1" "$(date -u '+%a, %d %b %Y %H:%M:%S GMT')" "$2"
    printf 'Content-Length: %s\r\nConnection: close\r\n\r\n' "$length"
    [ "$method" = HEAD ] || printf '%s\n' "$3"
    exit 0
}

IFS=' ' read -r method path protocol || exit 0
protocol=${protocol%"$CR"}
method=${method%"$CR"}
accept=
length=0
while IFS= read -r line; do
    line=${line%"$CR"}
    [ -z "$line" ] && break
    value=${line#*:}
    value=${value#"${value%%[! ]*}"}
    case ${line%%:*} in
        [Aa][Cc][Cc][Ee][Pp][Tt]) accept=$value ;;
        [Cc][Oo][Nn][Tt][Ee][Nn][Tt]-[Ll][Ee][Nn][Gg][Tt][Hh]) length=$value ;;
    esac
done
# Drain a request body so closing the socket does not reset the connection under the reply.
case $length in
    '' | *[!0-9]*) ;;
    *) [ "$length" -gt 0 ] && head -c "$length" >/dev/null ;;
esac

case $protocol in
    HTTP/1.[01]) ;;
    *) path=${path:-/}; respond '400 Bad Request' 'text/plain' 'Bad Request' ;;
esac

task_arn=unknown
if [ -s /tmp/.task_arn ]; then
    task_arn=$(cat /tmp/.task_arn)
elif [ -n "$ECS_CONTAINER_METADATA_URI_V4" ]; then
    # (no wget -T: it crashes this static busybox; the timeout applet bounds the wait instead)
    found=$(timeout 3 wget -q -O - "$ECS_CONTAINER_METADATA_URI_V4/task" 2>/dev/null |
        sed -n 's/.*"TaskARN" *: *"\([^"]*\)".*/\1/p' | head -n 1)
    if [ -n "$found" ]; then
        task_arn=$found
        printf '%s' "$found" >/tmp/.task_arn 2>/dev/null
    fi
fi
task_id=${task_arn##*/}
name=$(hostname)
addresses=$(ip -o -4 addr show scope global 2>/dev/null | awk '{ split($4, a, "/"); printf "%s%s", s, a[1]; s = " " }')
[ -n "$addresses" ] || addresses=$(hostname -i 2>/dev/null)
now=$(date -u '+%Y-%m-%dT%H:%M:%SZ')
version=${VERSION:-1}

json=
case ${path%%\?*} in *.json) json=1 ;; esac
case $accept in *application/json*) json=1 ;; esac
if [ -n "$json" ]; then
    list=
    for address in $addresses; do list="$list${list:+,}\"$address\""; done
    respond '200 OK' 'application/json' "$(printf '{"task_arn":"%s","task_id":"%s","hostname":"%s","addresses":[%s],"method":"%s","path":"%s","version":"%s","date":"%s"}' \
        "$(json_escape "$task_arn")" "$(json_escape "$task_id")" "$(json_escape "$name")" "$list" \
        "$(json_escape "$method")" "$(json_escape "$path")" "$(json_escape "$version")" "$now")"
fi
respond '200 OK' 'text/plain; charset=utf-8' "Hello from Dockyard!
Task: $task_arn
Task ID: $task_id
Server name: $name
Server address: $addresses
Version: $version
Request: $method $path
Date: $now"
