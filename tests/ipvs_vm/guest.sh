#!/bin/sh
# PID 1 inside the IPVS VM: load IPVS, run the guest checks with the host's venv, power off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root PYTHONDONTWRITEBYTECODE=1 PYKEEPALIVED_IN_IPVS_VM=1
mount -t tmpfs tmpfs /run
# /tmp stays the overlay's (writable, tmpfs-backed): a checkout under /tmp must stay visible
echo "GUEST: up at $(cut -d' ' -f1 /proc/uptime)s, kernel $(uname -r)"
# IPVS refuses real servers until the local routing table exists: lo up first
ip link set lo up
for m in ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh ip_vs_wlc veth bridge; do modprobe "$m" || echo "GUEST: modprobe $m failed"; done
cd "${IPVSVM_REPO:-/nonexistent-repo}" || { echo "IPVSVM-RESULT rc=92 (no repo)"; echo o > /proc/sysrq-trigger; }
.venv/bin/python -m pytest -p no:cacheprovider -q --color=no --durations=0 -m ipvs tests/ipvs_vm/guest_checks.py
rc=$?
echo "GUEST: done at $(cut -d' ' -f1 /proc/uptime)s"
echo "IPVSVM-RESULT rc=$rc"
sync
echo o > /proc/sysrq-trigger
sleep 10
