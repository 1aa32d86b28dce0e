#!/bin/bash -eu
#
# Install the Debian packages needed to build UCX with the tcp_zc module and
# to run its tests. Packages already installed are skipped.
#

pkgs="autoconf automake libtool make pkg-config dpkg-dev gcc g++ ccache
      libnuma-dev liburing-dev libnl-3-dev libnl-genl-3-dev
      iproute2 util-linux xz-utils time openmpi-bin libopenmpi-dev
      mpich libmpich-dev $*"

missing=""
for pkg in $pkgs
do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | \
         grep -q "install ok installed"
    then
        missing="$missing $pkg"
    fi
done

if [ -z "$missing" ]
then
    exit 0
fi

echo "tcp_zc: installing$missing"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get -q update
$sudo apt-get -q install -y --no-install-recommends $missing
