"""The ipvs actor: the kernel load balancer kept in step with configuration and health.

Pure modules: ``rules`` (rule set, minimal diff, apply), ``model`` (keepalived's LVS
policy: verdicts, weights, quorum, sorry server, ha_suspend, sync-daemon role), ``spec``
(configuration → the policy's specs), ``nft`` (nftables rendering and slot batches).
I/O: ``driver`` (backends: IPVS generic netlink, nftables, dry-run) and ``actor`` (shell).
"""
