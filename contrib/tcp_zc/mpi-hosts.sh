#
# Sourced by mpi-test.sh and mpi-bench.sh: MPI ranks on separate "hosts" of
# one machine, and the mpirun lines of Debian's Open MPI and MPICH over the
# UCX of a tcp_zc build.
#
# A host is a network namespace with its own hostname (UTS namespace) and its
# own /dev/shm (mount namespace, tmpfs), whose only device besides lo is the
# veth "tzc0" (198.51.100.<1+i>/24) to a bridge in another namespace. The
# launcher (mpirun, mpiexec) runs in a namespace of its own on the same
# bridge (198.51.100.254, hostname tzc-head) and starts its daemons (Open
# MPI's orted, MPICH's hydra_pmi_proxy) on the hosts through an ssh stand-in
# which enters the host's namespaces. So each rank sees only its host's
# devices, the MPI libraries see one rank per node (no shared memory between
# ranks), and every byte between ranks crosses the veths and the bridge.
# The launcher's own channels (Open MPI's oob, hydra's control port) use the
# bridge too. Everything is deleted by mpi_hosts_down (and at exit).
#
#   . mpi-hosts.sh
#   mpi_hosts_up <n>           n hosts (tzc-host0 ..) and the launcher
#   mpi_lo_up                  one namespace with lo only (no veth)
#   mpi_run <mpi> <n> <log> <timeout> <command...>
#                              run an MPI program with n ranks on the hosts
#                              (or on lo after mpi_lo_up), mpi = openmpi or
#                              mpich, the UCX in $MPI_UCX_LIB; extra launcher
#                              options in $MPI_OPTS, UCX_* variables in
#                              $MPI_UCX_ENV ("UCX_TLS=tcp_zc,self ..."),
#                              Open MPI's transport in $MPI_OMPI_PML: ucx
#                              (default), btl-tcp (pml ob1, btl tcp) or
#                              ofi-tcp (pml cm, mtl ofi, libfabric's tcp)
#   mpi_host_rx_bytes <i>      bytes received on host i's veth
#   mpi_hosts_down
#

mpi_sudo=""
[ "$(id -u)" -eq 0 ] || mpi_sudo="sudo"
mpi_prefix=tzcmpi$$
mpi_nhosts=0
mpi_where=""
mpi_agent=""
MPI_OPTS=${MPI_OPTS:-}
MPI_UCX_ENV=${MPI_UCX_ENV:-}

mpi_ns() { echo "$mpi_prefix-$1"; }

# ends every process in our namespaces (by pid), then the namespaces
mpi_hosts_down() {
    local ns pid
    for ns in $($mpi_sudo ip netns list 2>/dev/null |
                awk -v p="$mpi_prefix-" 'index($1, p) == 1 { print $1 }')
    do
        for pid in $($mpi_sudo ip netns pids "$ns" 2>/dev/null)
        do
            $mpi_sudo kill -9 "$pid" 2>/dev/null || true
        done
        $mpi_sudo ip netns delete "$ns" 2>/dev/null || true
    done
    [ -z "$mpi_agent" ] || rm -rf "$(dirname "$mpi_agent")"
    mpi_agent=""
    mpi_nhosts=0
    mpi_where=""
}
trap mpi_hosts_down EXIT
trap 'mpi_hosts_down; exit 130' INT TERM

# the ssh stand-in: "agent [options] <address> <command line>" runs the
# command line with bash in the host's namespaces, as sshd would
mpi_write_agent() {
    mpi_agent=$(mktemp -d /tmp/tcp_zc-mpi.XXXXXX)/agent
    cat >"$mpi_agent" <<EOF
#!/bin/bash
while [ "\${1#-}" != "\$1" ]; do shift; done
host=\${1#198.51.100.}
shift
case "\$host" in
[1-9]|[1-9][0-9]) ;;
*) echo "tcp_zc mpi agent: unknown host \$1" >&2; exit 255 ;;
esac
i=\$((host - 1))
exec $mpi_sudo ip netns exec "$mpi_prefix-h\$i" \\
    unshare --uts --mount --propagation private bash -c \\
    'hostname "tzc-host\$0" && mount -t tmpfs -o size=1g tmpfs /dev/shm &&
     exec bash -c "\$1"' "\$i" "\$*"
EOF
    chmod 755 "$mpi_agent"
}

mpi_hosts_up() {
    local n=$1 i ns br
    mpi_hosts_down
    br=$(mpi_ns sw)
    $mpi_sudo ip netns add "$br"
    $mpi_sudo ip -n "$br" link add br0 type bridge
    $mpi_sudo ip -n "$br" link set br0 up
    for i in $(seq 0 "$n") # host i < n; the launcher's at i = n
    do
        if [ "$i" -lt "$n" ]
        then
            ns=$(mpi_ns h$i)
        else
            ns=$(mpi_ns head)
        fi
        $mpi_sudo ip netns add "$ns"
        $mpi_sudo ip -n "$ns" link set lo up
        $mpi_sudo ip -n "$br" link add p$i type veth peer name tzc0 \
            netns "$ns"
        $mpi_sudo ip -n "$br" link set p$i master br0 up
        if [ "$i" -lt "$n" ]
        then
            $mpi_sudo ip -n "$ns" addr add 198.51.100.$((i + 1))/24 dev tzc0
        else
            $mpi_sudo ip -n "$ns" addr add 198.51.100.254/24 dev tzc0
        fi
        $mpi_sudo ip -n "$ns" link set tzc0 up
    done
    # until every port forwards
    for i in $(seq 50)
    do
        ! $mpi_sudo ip -n "$br" link show master br0 |
            grep -v "state UP" | grep -q "^[0-9]" && break
        sleep 0.1
    done
    mpi_write_agent
    mpi_nhosts=$n
    mpi_where=hosts
}

mpi_lo_up() {
    mpi_hosts_down
    $mpi_sudo ip netns add "$(mpi_ns lo)"
    $mpi_sudo ip -n "$(mpi_ns lo)" link set lo up
    mpi_where=lo
}

mpi_host_rx_bytes() {
    $mpi_sudo ip netns exec "$(mpi_ns h$1)" \
        cat /sys/class/net/tzc0/statistics/rx_bytes
}

# mpi_run <mpi> <n> <log> <timeout> <command...>
mpi_run() {
    local mpi=$1 n=$2 log=$3 tmo=$4 hosts="" i rc
    local -a env launch
    shift 4

    env=(LD_LIBRARY_PATH="$MPI_UCX_LIB" $MPI_UCX_ENV)
    if [ "$mpi_where" = "hosts" ]
    then
        for i in $(seq 0 $((n - 1)))
        do
            hosts="$hosts,198.51.100.$((i % mpi_nhosts + 1))"
        done
        hosts=${hosts#,}
        launch=($mpi_sudo ip netns exec "$(mpi_ns head)"
                unshare --uts bash -c 'hostname tzc-head && exec "$@"' --)
    else
        launch=($mpi_sudo ip netns exec "$(mpi_ns lo)")
    fi

    case "$mpi" in
    openmpi)
        local dev=lo
        [ "$mpi_where" = "lo" ] || dev=tzc0
        local -a opts
        case "${MPI_OMPI_PML:-ucx}" in
        ucx)
            # pml ucx accepts a transport which is not InfiniBand only with
            # pml_ucx_tls/pml_ucx_devices "any"; no btl but self
            opts=(--mca pml ucx --mca pml_ucx_tls any
                  --mca pml_ucx_devices any --mca osc ucx --mca btl self)
            ;;
        btl-tcp)
            # Open MPI's own TCP transport
            opts=(--mca pml ob1 --mca btl tcp,self
                  --mca btl_tcp_if_include "$dev" --mca osc ^ucx)
            ;;
        ofi-tcp)
            # libfabric's tcp provider (with rxm for reliable datagrams)
            opts=(--mca pml cm --mca mtl ofi
                  --mca mtl_ofi_provider_include "tcp;ofi_rxm"
                  --mca mtl_ofi_verbose 1 --mca btl self --mca osc ^ucx)
            env+=("FI_TCP_IFACE=$dev")
            ;;
        esac
        local -a xenv=()
        for i in "${env[@]}"
        do
            xenv+=(-x "$i")
        done
        if [ "$mpi_where" = "hosts" ]
        then
            # the "hosts" share this machine's cores: each orted would bind
            # its rank to the same core 0
            opts+=(--host "$hosts" --bind-to none
                   --mca plm_rsh_agent "$mpi_agent"
                   --mca plm_rsh_no_tree_spawn 1
                   --mca oob_tcp_if_include 198.51.100.0/24)
        else
            opts+=(--oversubscribe --mca oob_tcp_if_include lo)
        fi
        set +e
        "${launch[@]}" env "${env[@]}" OMPI_ALLOW_RUN_AS_ROOT=1 \
            OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
            timeout -k 5 "$tmo" mpirun.openmpi -np "$n" "${opts[@]}" \
            $MPI_OPTS "${xenv[@]}" "$@" >"$log" 2>&1
        rc=$?
        set -e
        ;;
    mpich)
        local -a opts=()
        if [ "$mpi_where" = "hosts" ]
        then
            opts+=(-hosts "$hosts" -launcher ssh -launcher-exec "$mpi_agent"
                   -iface tzc0)
        else
            # ranks of one node would talk through MPICH's shared memory
            env+=(MPIR_CVAR_NOLOCAL=1)
        fi
        set +e
        "${launch[@]}" env "${env[@]}" \
            timeout -k 5 "$tmo" mpiexec.hydra -n "$n" "${opts[@]}" \
            $MPI_OPTS "$@" >"$log" 2>&1
        rc=$?
        set -e
        ;;
    *)
        echo "mpi_run: unknown MPI '$mpi'" >&2
        return 1
        ;;
    esac
    # a launcher killed by its timeout may leave ranks behind
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]
    then
        echo "mpi_run: timed out after $tmo s" >>"$log"
    fi
    return "$rc"
}
