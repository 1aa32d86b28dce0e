#!/bin/bash -eu
#
# Obtain Debian's UCX source package (with Debian's patches applied) into
# build/src/ucx-<version>, using a private deb-src list derived from this
# machine's own apt sources. The system's apt configuration is not changed.
#
# Usage: get-ucx.sh <build-dir> [<debian-version>]
#

builddir=$(realpath -m "$1")
debver=${2:-1.13.1-1}
upver=${debver%-*}
dest=$builddir/src/ucx-$upver

if [ -f "$dest/configure.ac" ]
then
    echo "$dest"
    exit 0
fi

aptdir=$builddir/apt
mkdir -p "$aptdir/lists/partial" "$aptdir/archives/partial" "$builddir/src"
srclist=$aptdir/deb-src.sources
: > "$srclist"

# deb822 sources: copy every stanza as a deb-src stanza
for f in /etc/apt/sources.list.d/*.sources
do
    [ -f "$f" ] || continue
    awk 'BEGIN { RS=""; ORS="\n\n" }
         /(^|\n)Types:[^\n]*deb/ && !/(^|\n)Enabled: *no/ {
             gsub(/(^|\n)#[^\n]*/, "");
             sub(/Types:[^\n]*/, "Types: deb-src");
             print }' "$f" >> "$srclist"
done

# one-line sources: turn "deb" lines into "deb-src" lines
oneline=$aptdir/deb-src.list
: > "$oneline"
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list
do
    [ -f "$f" ] || continue
    sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' "$f" >> "$oneline"
done

partsdir=$aptdir/sources.list.d
mkdir -p "$partsdir"
cp "$srclist" "$partsdir/deb-src.sources"

aptopts="-o Dir::Etc::SourceList=$oneline
         -o Dir::Etc::SourceParts=$partsdir
         -o Dir::State::Lists=$aptdir/lists
         -o Dir::Cache::Archives=$aptdir/archives
         -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
         -o APT::Sandbox::User=root"

echo "tcp_zc: fetching UCX $debver source package" >&2
apt-get -q $aptopts update >&2
cd "$builddir/src"
apt-get -q $aptopts source "ucx=$debver" >&2

if [ ! -f "$dest/configure.ac" ]
then
    echo "tcp_zc: apt-get source did not produce $dest" >&2
    exit 1
fi
echo "$dest"
