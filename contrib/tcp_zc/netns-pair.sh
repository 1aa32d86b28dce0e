#
# Sourced by the benchmark scripts: two network namespaces, $ns_a with lo up
# and a veth pair between them (198.51.100.1 in $ns_a, .2 in $ns_b, both
# ends named tzc0: ucx_perftest's server opens the device which the client
# names), deleted when the script exits. Sets sudo, ns_a and ns_b.
#
#   . netns-pair.sh <name prefix>
#

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
ns_a=$1-a-$$
ns_b=$1-b-$$
netns_pair_cleanup() {
    $sudo ip netns delete "$ns_a" 2>/dev/null || true
    $sudo ip netns delete "$ns_b" 2>/dev/null || true
}
# a signal ends the script (through the EXIT trap), not just the namespaces
trap netns_pair_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
$sudo ip netns add "$ns_a"
$sudo ip netns add "$ns_b"
$sudo ip -n "$ns_a" link set lo up
$sudo ip -n "$ns_a" link add tzc0 type veth peer name tzc0 netns "$ns_b"
$sudo ip -n "$ns_a" addr add 198.51.100.1/24 dev tzc0
$sudo ip -n "$ns_b" addr add 198.51.100.2/24 dev tzc0
$sudo ip -n "$ns_a" link set tzc0 up
$sudo ip -n "$ns_b" link set tzc0 up
# until the pair is up on both ends
for i in $(seq 50)
do
    $sudo ip -n "$ns_a" link show tzc0 | grep -q "state UP" &&
        $sudo ip -n "$ns_b" link show tzc0 | grep -q "state UP" && break
    sleep 0.1
done
