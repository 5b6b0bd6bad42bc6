#!/bin/bash
# Boot the throw-away IPVS VM (prepared by setup.sh) and run the guest checks in it.
# usage: run-vm.sh            env: IPVS_VM_DIR, IPVSVM_TIMEOUT (s), IPVSVM_CONSOLE (log path)
# The host's root file system is shared read-only (virtiofs) with a tmpfs overlay on top,
# so the guest runs this very checkout and venv. Exit 0 iff the guest printed
# "IPVSVM-RESULT rc=0"; the console log holds the guest's pytest output.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
VMDIR=${IPVS_VM_DIR:-$REPO/build/ipvs-vm}
CONSOLE=${IPVSVM_CONSOLE:-$VMDIR/console.log}
TIMEOUT=${IPVSVM_TIMEOUT:-240}
[ -e "$VMDIR/vmlinuz" ] && [ -f "$VMDIR/initrd.cpio" ] || { echo "VM not prepared: run $HERE/setup.sh"; exit 2; }
KVER=$(basename "$(readlink "$VMDIR/vmlinuz")"); KVER=${KVER#vmlinuz-}
SOCK=$VMDIR/vfsd.$$.sock
rm -f "$CONSOLE"
/usr/lib/qemu/virtiofsd --socket-path="$SOCK" -o source=/ -o cache=always -o sandbox=chroot \
  >"$VMDIR/virtiofsd.log" 2>&1 &
VPID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
start=$(date +%s.%N)
timeout "$TIMEOUT" qemu-system-x86_64 -accel tcg,thread=multi -cpu qemu64 -machine q35 -smp 2 -m 1024 \
  -nodefaults -no-user-config -display none -no-reboot \
  -serial file:"$CONSOLE" \
  -kernel "$VMDIR/vmlinuz" -initrd "$VMDIR/initrd.cpio" \
  -append "console=ttyS0 panic=-1 quiet loglevel=4 vm.script=$HERE/guest.sh vm.moddir=$VMDIR/kernel/lib/modules IPVSVM_REPO=$REPO ${IPVSVM_APPEND:-}" \
  -chardev socket,id=vfs,path="$SOCK" -device vhost-user-fs-pci,chardev=vfs,tag=hostroot \
  -object memory-backend-memfd,id=mem,size=1024M,share=on -machine memory-backend=mem
qrc=$?
end=$(date +%s.%N)
kill "$VPID" 2>/dev/null; wait "$VPID" 2>/dev/null; rm -f "$SOCK"
awk -v s="$start" -v e="$end" -v rc="$qrc" -v k="$KVER" 'BEGIN{printf "ipvs vm: kernel %s, qemu rc=%s, wall %.1f s\n", k, rc, e-s}'
grep -a 'IPVSVM-RESULT' "$CONSOLE" || { echo "no result from the guest (timeout or crash); console:"; tail -50 "$CONSOLE"; exit 1; }
grep -aq 'IPVSVM-RESULT rc=0' "$CONSOLE"
