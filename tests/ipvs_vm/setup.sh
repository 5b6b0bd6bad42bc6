#!/bin/bash
# Prepare the throw-away IPVS VM (Debian 12, root; idempotent):
# qemu + busybox-static + cpio + kmod, and the guest checks' tools (ipvsadm, curl, iproute2:
# the guest runs the host's binaries), installed when missing, Debian's cloud kernel
# downloaded and unpacked (never installed) under $IPVS_VM_DIR, a tiny initramfs built.
# Exit 0 when ready; on failure the last line of output says why.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
VMDIR=${IPVS_VM_DIR:-$HERE/../../build/ipvs-vm}
mkdir -p "$VMDIR"
VMDIR=$(cd "$VMDIR" && pwd)
export DEBIAN_FRONTEND=noninteractive
missing=()
for p in qemu-system-x86 busybox-static cpio kmod ipvsadm curl iproute2; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; }
fi
# the metapackage names the current ABI (linux-image-6.1.0-NN-cloud-amd64)
PKG=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[ -n "$PKG" ] || { echo "cannot resolve linux-image-cloud-amd64 through apt"; exit 1; }
KVER=${PKG#linux-image-}
if [ ! -f "$VMDIR/kernel/boot/vmlinuz-$KVER" ]; then
  rm -f "$VMDIR"/linux-image-*.deb
  (cd "$VMDIR" && apt-get download "$PKG" >/dev/null) || { echo "cannot download $PKG"; exit 1; }
  rm -rf "$VMDIR/kernel"
  dpkg-deb -x "$VMDIR/${PKG}"_*.deb "$VMDIR/kernel"
  rm -f "$VMDIR"/linux-image-*.deb
fi
grep -q '^CONFIG_IP_VS=[my]' "$VMDIR/kernel/boot/config-$KVER" || { echo "$PKG has no IPVS"; exit 1; }
[ -f "$VMDIR/kernel/lib/modules/$KVER/modules.dep" ] || depmod -b "$VMDIR/kernel" "$KVER"
if [ ! -f "$VMDIR/initrd.cpio" ] || [ "$HERE/init" -nt "$VMDIR/initrd.cpio" ]; then
  STAGE=$(mktemp -d)
  trap 'rm -rf "$STAGE"' EXIT
  mkdir -p "$STAGE/bin" "$STAGE/mods"
  cp /bin/busybox "$STAGE/bin/busybox"
  cp "$HERE/init" "$STAGE/init"
  chmod 755 "$STAGE/init"
  for mod in virtio_pci virtiofs overlay; do
    modprobe -d "$VMDIR/kernel" -S "$KVER" --show-depends "$mod" | awk '$1=="insmod"{print $2}'
  done | awk '!seen[$0]++' | while read -r ko; do
    cp "$ko" "$STAGE/mods/"
    basename "$ko" >> "$STAGE/mods/order"
  done
  (cd "$STAGE" && find . | cpio -o -H newc --quiet) > "$VMDIR/initrd.cpio"
fi
ln -sfn "kernel/boot/vmlinuz-$KVER" "$VMDIR/vmlinuz"
echo "ipvs vm ready: kernel $KVER in $VMDIR"
