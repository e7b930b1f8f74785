"""Safety rules for everyday operations tools a runbook asks for: package managers, disks and
file systems, web-server reloads, database admin tools, etcd/consul/vault, terraform, azcopy,
message and storage clusters, PowerShell cmdlets."""

from __future__ import annotations

import re

from opsbook.runbooks.commands.argv import Part, has_flag, positionals, words
from opsbook.runbooks.safety import Verdict, des, mut, ro, unk
from opsbook.runbooks.shellwords import SimpleCommand


def _p(v: Verdict) -> Part:
    return Part("shell", None, v)


_PKG_READ = words("""list search show info policy madison depends rdepends check-update
provides whatprovides repolist history help version outdated -l -q -s -L --list --status
--get-selections changelog download-only stats query audit freeze""")
_PKG_REMOVE = words("""remove purge autoremove erase uninstall del autoclean clean -r -P
-e --remove --purge --erase prune""")


def package(prog: str, args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """apt/yum/dnf/zypper/apk/pacman/snap/brew/pip/gem/dpkg/rpm: queries read; install and
    upgrade change the machine; remove/purge take software (and its config) away."""
    pos = [a for a in args if not a.startswith("-") or a in _PKG_READ or a in _PKG_REMOVE]
    if prog in ("dpkg", "rpm"):
        flags = [a for a in args if a.startswith("-")]
        if any(a in ("-r", "-P", "--remove", "--purge", "-e", "--erase") for a in flags):
            return _p(des(f"{prog} removes installed packages"))
        if any(a in ("-i", "--install", "-U", "--upgrade", "-F", "--configure") for a in flags):
            return _p(mut(f"{prog} installs packages"))
        return _p(ro(f"{prog} only queries installed packages"))
    if prog == "pacman":
        mode = next((a for a in args if a.startswith("-") and not a.startswith("--")), "")
        if mode.startswith("-R"):
            return _p(des("pacman -R removes packages"))
        if mode.startswith(("-S", "-U")) and not re.match(r"^-S[si]", mode):
            return _p(mut("pacman installs or upgrades packages"))
        return _p(ro("pacman only queries packages"))
    sub = pos[0] if pos else ""
    if prog in ("brew",) and sub == "services":
        action = pos[1] if len(pos) > 1 else "list"
        if action in ("list", "info"):
            return _p(ro(f"brew services {action} only reads"))
        return _p(mut(f"brew services {action} changes a service (reversible)"))
    if sub in _PKG_REMOVE:
        what = "and its configuration " if sub in ("purge", "-P", "--purge") else ""
        return _p(des(f"{prog} {sub} removes installed software {what}(reinstall to undo)"))
    if sub in _PKG_READ or not sub:
        return _p(ro(f"{prog} {sub} only reads package information".replace("  ", " ")))
    if sub in ("update", "makecache", "refresh") and prog in (
        "apt",
        "apt-get",
        "yum",
        "dnf",
        "apk",
        "zypper",
    ):
        return _p(mut(f"{prog} {sub} refreshes the package index"))
    return _p(mut(f"{prog} {sub} installs or upgrades software on this machine"))


_DISK_GROW = words("""growpart resize2fs xfs_growfs lvextend pvresize vgextend btrfs
partprobe fstrim tune2fs e4defrag xfs_fsr fallocate resize.f2fs mdadm-grow pvcreate vgcreate
lvcreate lvchange vgchange losetup cryptsetup-open""")
_DISK_DESTROY = words("""lvremove vgremove pvremove lvreduce mkswap mke2fs mkfs.btrfs mkfs.vfat
mkfs.ext3 mkfs.ext2 blkdiscard sfdisk-write xfs_repair e2fsck fsck fsck.ext4 fsck.xfs""")
_DISK_READ = words("""pvs vgs lvs pvdisplay vgdisplay lvdisplay pvscan vgscan lvscan dumpe2fs
xfs_info xfs_db-r lsscsi multipath-ll mdadm-detail iostat-x blockdev-getsize64 udevadm""")
_DISK_REASONS = {
    "growpart": "growpart grows a partition in place (it cannot be shrunk back)",
    "resize2fs": "resize2fs resizes a file system in place",
    "xfs_growfs": "xfs_growfs grows a file system in place (it cannot be shrunk)",
    "lvextend": "lvextend grows a logical volume",
    "pvresize": "pvresize resizes an LVM physical volume",
    "fstrim": "fstrim discards unused blocks",
}


def disk(prog: str, args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """Partitions, volumes and file systems: growing changes the machine; repair, shrink and
    format tools can lose data; inspection reads."""
    if prog in ("e2fsck", "fsck", "fsck.ext4", "fsck.xfs", "xfs_repair") and (
        "-n" in args or (prog == "xfs_repair" and "-n" in args)
    ):
        return _p(ro(f"{prog} -n only checks, changing nothing"))
    if prog == "tune2fs" and "-l" in args:
        return _p(ro("tune2fs -l only prints file system settings"))
    if prog in ("lvextend", "lvresize") and any(a.startswith("-L-") for a in args):
        return _p(des(f"{prog} with a negative size shrinks a volume (data past it is lost)"))
    if prog in ("sfdisk", "parted", "fdisk", "gdisk"):
        if any(a in ("-l", "--list", "-d", "--dump", "print") for a in args):
            return _p(ro(f"{prog} only lists partitions"))
        return _p(des(f"{prog} rewrites the partition table"))
    if prog == "mdadm":
        if any(a in ("--detail", "-D", "--examine", "-E", "--query", "-Q") for a in args):
            return _p(ro("mdadm only reports on arrays"))
        if any(
            a in ("--fail", "-f", "--remove", "-r", "--zero-superblock", "--stop", "-S")
            for a in args
        ):
            return _p(des("mdadm fails, removes or stops array members"))
        return _p(mut("mdadm changes a software RAID array"))
    if (
        prog == "btrfs"
        and args[:1]
        and args[0] in ("filesystem", "fi")
        and args[1:2] in (["show"], ["df"], ["usage"])
    ):
        return _p(ro("btrfs filesystem show/df only reads"))
    if prog in _DISK_DESTROY:
        return _p(des(f"{prog} formats, repairs or removes storage in place (data can be lost)"))
    if prog in _DISK_READ:
        return _p(ro(f"{prog} only reports on disks and volumes"))
    return _p(mut(_DISK_REASONS.get(prog, f"{prog} changes disks or volumes")))


def webserver(prog: str, args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """nginx/haproxy/apachectl/caddy/envoy: config tests read; signals and reloads change the
    running server; stopping it cuts users off."""
    low = [a.lower() for a in args]
    if any(
        a in ("-t", "-T", "-v", "-V", "-c", "configtest", "-tt", "validate", "fmt", "version", "-h")
        for a in args
    ) and not (prog == "haproxy" and any(a in ("-sf", "-st", "-D") for a in args)):
        return _p(ro(f"{prog} only tests its configuration or prints its version"))
    sig = None
    if "-s" in args and args.index("-s") + 1 < len(args):
        sig = args[args.index("-s") + 1]
    verb = sig or next(
        (
            a
            for a in low
            if a
            in (
                "reload",
                "graceful",
                "restart",
                "stop",
                "start",
                "quit",
                "reopen",
                "graceful-stop",
                "run",
            )
        ),
        None,
    )
    if verb in ("stop", "quit", "graceful-stop"):
        return _p(des(f"{prog} {verb} stops the server, cutting users off"))
    if verb is not None:
        return _p(mut(f"{prog} {verb} reloads or restarts the server (reversible)"))
    if prog == "haproxy" and any(a in ("-sf", "-st") for a in args):
        return _p(mut("haproxy -sf starts a new process and takes over from the old one"))
    return _p(mut(f"{prog} starts or signals the server"))


def mysqladmin(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """mysqladmin: status and processlist read; kill/shutdown/drop end work or lose data."""
    with_arg = frozenset({"-u", "--user", "-h", "--host", "-P", "--port", "-S", "--socket"})
    pos = [p.lower() for p in positionals(args, with_arg)]
    sub = pos[0] if pos else "status"
    if sub in ("status", "processlist", "ping", "variables", "extended-status", "version", "proc"):
        return _p(ro(f"mysqladmin {sub} only reads"))
    if sub in ("kill", "shutdown", "drop", "purge"):
        return _p(des(f"mysqladmin {sub} ends sessions, stops the server or drops data"))
    return _p(mut(f"mysqladmin {sub} changes the server (reversible)"))


def mysql_tools(prog: str, args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """mysqldump/mysqlbinlog/mysqlcheck/pt-*: dumps read; repairs and kills change."""
    if prog in (
        "mysqldump",
        "mysqlpump",
        "mysqlbinlog",
        "mysqlshow",
        "pt-table-checksum",
        "pt-summary",
        "pt-mysql-summary",
        "pt-query-digest",
        "pt-heartbeat-check",
        "xtrabackup-backup",
    ):
        return _p(ro(f"{prog} only reads the database"))
    if prog == "mysqlcheck" and not has_flag(
        args, "--repair", "-r", "--optimize", "-o", "--auto-repair"
    ):
        return _p(ro("mysqlcheck only checks tables"))
    if prog == "pt-kill":
        if "--print" in args and "--kill" not in args and "--kill-query" not in args:
            return _p(ro("pt-kill --print only lists what it would kill"))
        return _p(des("pt-kill ends queries or sessions"))
    if prog == "pt-online-schema-change" and "--dry-run" in args:
        return _p(ro("pt-online-schema-change --dry-run changes nothing"))
    if prog == "xtrabackup" and has_flag(args, "--copy-back", "--move-back"):
        return _p(des("xtrabackup --copy-back restores over the data directory"))
    if prog == "xtrabackup" and has_flag(args, "--backup"):
        return _p(mut("xtrabackup --backup writes a backup"))
    return _p(mut(f"{prog} changes tables or the server"))


_KV_WITH_ARG = frozenset({"--endpoints", "--cacert", "--cert", "--key", "-w", "--write-out",
                          "--user", "--command-timeout", "-http-addr", "-token", "-datacenter"})  # fmt: skip


def etcdctl(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """etcdctl: get/health/status/member list read; put/defrag/compact change; del, member
    remove and snapshot restore lose data or a member."""
    pos = positionals(args, _KV_WITH_ARG)
    sub = " ".join(pos[:2])
    head = pos[0] if pos else ""
    if head in ("get", "endpoint", "check", "version", "watch", "alarm") and sub != "alarm disarm":
        return _p(ro(f"etcdctl {sub} only reads"))
    if sub in (
        "member list",
        "user list",
        "role list",
        "lease list",
        "role get",
        "user get",
        "lease timetolive",
        "snapshot status",
    ):
        return _p(ro(f"etcdctl {sub} only reads"))
    if head == "del" or sub in (
        "member remove",
        "snapshot restore",
        "user delete",
        "role delete",
        "lease revoke",
    ):
        return _p(des(f"etcdctl {sub} deletes keys, a member or state"))
    if sub == "snapshot save":
        return _p(mut("etcdctl snapshot save writes a snapshot file"))
    if not head:
        return _p(unk("etcdctl without a command"))
    return _p(mut(f"etcdctl {sub} changes the cluster"))


def consul(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """consul: members/catalog/kv get read; kv put, reload, maint change; kv delete,
    force-leave and raft remove-peer lose data or members."""
    pos = positionals(args, _KV_WITH_ARG)
    sub = " ".join(pos[:2])
    head = pos[0] if pos else ""
    if (
        head
        in (
            "members",
            "info",
            "catalog",
            "monitor",
            "version",
            "validate",
            "watch",
            "rtt",
        )
        or sub
        in (
            "kv get",
            "kv export",
            "operator raft",
            "acl token",
            "intention check",
            "services list",
        )
    ) and not (sub == "operator raft" and "remove-peer" in pos):
        return _p(ro(f"consul {sub} only reads"))
    if sub in ("kv delete", "snapshot restore") or head == "force-leave" or "remove-peer" in pos:
        return _p(des(f"consul {' '.join(pos[:3])} deletes data or removes a member"))
    if sub == "snapshot save":
        return _p(mut("consul snapshot save writes a snapshot file"))
    if not head:
        return _p(unk("consul without a command"))
    return _p(mut(f"consul {sub} changes the cluster"))


def vault(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """vault: status/read/list read; write/kv put/unseal change; seal, revoke, delete and
    destroy lock clients out or lose secrets."""
    pos = positionals(
        args, frozenset({"-address", "-field", "-format", "-mount", "-namespace", "-path"})
    )
    head = pos[0] if pos else ""
    sub = " ".join(pos[:2])
    if (
        (
            head in ("status", "read", "list", "version", "login", "print", "path-help")
            or sub
            in (
                "kv get",
                "kv list",
                "kv metadata",
                "token lookup",
                "token capabilities",
                "secrets list",
                "auth list",
                "audit list",
                "policy read",
                "policy list",
                "operator members",
                "operator raft",
                "operator key-status",
                "lease lookup",
            )
        )
        and not (sub == "kv metadata" and "delete" in pos)
        and "remove-peer" not in pos
    ):
        return _p(ro(f"vault {sub} only reads"))
    if (
        head in ("delete",)
        or sub
        in (
            "kv delete",
            "kv destroy",
            "kv metadata",
            "operator seal",
            "token revoke",
            "lease revoke",
            "secrets disable",
            "auth disable",
            "policy delete",
            "audit disable",
        )
        or "remove-peer" in pos
    ):
        return _p(des(f"vault {' '.join(pos[:3])} deletes secrets or locks clients out"))
    if not head:
        return _p(unk("vault without a command"))
    return _p(mut(f"vault {sub} changes secrets or configuration"))


def terraform(prog: str, args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """terraform/tofu: plan/show/validate read; apply changes infrastructure; destroy, apply
    -destroy and state rm remove resources or forget them."""
    pos = positionals(args, frozenset({"-chdir", "-var", "-var-file", "-target", "-out", "-state"}))
    head = pos[0] if pos else ""
    sub = " ".join(pos[:2])
    if head == "destroy" or (head == "apply" and "-destroy" in args) or sub == "state rm":
        return _p(des(f"{prog} {sub} destroys or forgets infrastructure"))
    if head in (
        "plan",
        "show",
        "validate",
        "output",
        "version",
        "providers",
        "graph",
        "console",
    ) or sub in ("state list", "state show", "state pull", "workspace list", "workspace show"):
        if head == "plan" and "-destroy" in args:
            return _p(ro(f"{prog} plan -destroy only shows what would be destroyed"))
        return _p(ro(f"{prog} {sub} only reads"))
    if head == "fmt" and has_flag(args, "-check"):
        return _p(ro(f"{prog} fmt -check only checks formatting"))
    if not head:
        return _p(unk(f"{prog} without a command"))
    return _p(mut(f"{prog} {sub} changes infrastructure or its state"))


def azcopy(args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """azcopy: list and job status read; copy and sync write blobs; remove (or sync with
    --delete-destination) deletes them."""
    pos = positionals(args, frozenset({"--include-pattern", "--exclude-pattern", "--log-level"}))
    head = pos[0] if pos else ""
    sub = " ".join(pos[:2])
    if head in ("remove", "rm") or (
        head == "sync"
        and any(a.startswith("--delete-destination") and not a.endswith("=false") for a in args)
    ):
        return _p(des(f"azcopy {head} deletes blobs or files"))
    if head in ("list", "ls", "env", "--version", "doc", "login") or sub in (
        "jobs list",
        "jobs show",
    ):
        return _p(ro(f"azcopy {sub} only reads"))
    if head in ("copy", "cp", "sync", "make", "set-properties", "jobs", "bench"):
        if "--dry-run" in args:
            return _p(ro(f"azcopy {head} --dry-run changes nothing"))
        return _p(mut(f"azcopy {sub} writes blobs or files"))
    return _p(unk(f"unrecognised azcopy {head}"))


def cluster_tool(prog: str, args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """ceph/nodetool/kafka-*/cqlsh tools: status reads; repairs and moves change; removals and
    deletes lose data or members."""
    low = [a.lower() for a in args]
    text = " ".join(low)
    if prog.startswith("kafka-"):
        if "--delete" in low:
            return _p(des(f"{prog} --delete deletes topics, groups or records"))
        if (
            any(
                a in ("--create", "--alter", "--execute", "--reset-offsets", "--add-config")
                for a in low
            )
            and "--dry-run" not in low
        ):
            return _p(mut(f"{prog} changes topics, offsets or configuration"))
        return _p(ro(f"{prog} only lists or describes"))
    pos = [a for a in low if not a.startswith("-")]
    head = pos[0] if pos else ""
    if prog == "nodetool":
        if head in ("removenode", "assassinate", "truncatehints", "clearsnapshot"):
            return _p(des(f"nodetool {head} removes a node or data"))
        if head in (
            "status",
            "info",
            "tpstats",
            "cfstats",
            "tablestats",
            "ring",
            "describecluster",
            "compactionstats",
            "netstats",
            "gossipinfo",
            "version",
            "proxyhistograms",
            "tablehistograms",
            "listsnapshots",
            "getcompactionthroughput",
        ):
            return _p(ro(f"nodetool {head} only reads"))
        return _p(mut(f"nodetool {head} changes the node (repair, compaction, drain …)"))
    if prog == "ceph":
        if re.search(r"\b(purge|rm|delete|destroy|lost)\b", text) or "pool delete" in text:
            return _p(des(f"ceph {' '.join(pos[:3])} removes data or daemons"))
        if head in ("status", "health", "df", "-s", "versions", "report") or any(
            w in pos for w in ("ls", "tree", "dump", "stat", "get", "detail", "list")
        ):
            return _p(ro(f"ceph {' '.join(pos[:3])} only reads"))
        return _p(mut(f"ceph {' '.join(pos[:3])} changes the cluster"))
    return _p(unk(f"no rule for `{prog}`"))


_PS_READ = re.compile(
    r"^(?:Get|Test|Show|Select|Sort|Group|Out-Null|Join-Path|Split-Path|Measure|Find|Resolve|Where|Format|Compare|Read|Search|Trace|Wait|Out-Host|Out-String|ConvertTo|ConvertFrom|Write-Host|Write-Output)(?:-|$)",
    re.I,
)
_PS_DESTROY = re.compile(
    r"^(?:Remove|Clear|Uninstall|Unregister|Dismount|Disconnect|Revoke|Reset|Restart-Computer|Stop-Computer)(?:-|$)",
    re.I,
)
_PS_UNKNOWN = re.compile(
    r"^(?:Invoke-Expression|Invoke-Command|Start-Process|Invoke-WebRequest|Invoke-RestMethod)$",
    re.I,
)


def powershell(prog: str, args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """A PowerShell cmdlet by its verb: Get-/Test- read; Set-/Restart-/New- change; Remove-/
    Clear-/Restart-Computer lose data or cut users off. ``-WhatIf`` changes nothing."""
    if any(a.lower() == "-whatif" for a in args):
        return _p(ro(f"{prog} -WhatIf only shows what would change"))
    if _PS_UNKNOWN.match(prog):
        return _p(unk(f"{prog} runs code or requests whose effect cannot be read here"))
    if _PS_DESTROY.match(prog):
        return _p(des(f"{prog} removes, clears or takes a machine down"))
    if _PS_READ.match(prog):
        return _p(ro(f"{prog} only reads"))
    return _p(mut(f"{prog} changes the system"))


def windows(prog: str, args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """net/sc/iisreset/ipconfig: queries read; start/stop/restart change services."""
    low = [a.lower() for a in args]
    if (
        prog in ("ipconfig", "tasklist", "systeminfo", "netsh-show", "wevtutil-qe")
        and "/release" not in low
        and "/flushdns" not in low
    ):
        return _p(ro(f"{prog} only reads"))
    if prog == "ipconfig":
        return _p(mut("ipconfig changes network leases or caches"))
    if prog in ("net", "sc", "sc.exe"):
        if (
            low[:1]
            and low[0]
            in ("query", "queryex", "qc", "view", "use", "user", "config", "statistics", "start")
            and not (prog == "net" and low[0] == "start" and len(low) > 1)
        ):
            return _p(ro(f"{prog} {low[0]} only reads"))
        if low[:1] and low[0] in ("delete",):
            return _p(des(f"{prog} delete removes a service"))
        return _p(mut(f"{prog} {' '.join(low[:1])} changes a service (reversible)"))
    if prog == "taskkill":
        return _p(des("taskkill ends processes"))
    if prog == "iisreset":
        if "/status" in low:
            return _p(ro("iisreset /status only reads"))
        return _p(mut("iisreset restarts IIS, dropping requests in flight"))
    return _p(mut(f"{prog} changes this machine"))


def system_setting(prog: str, args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """hostnamectl/timedatectl/sysctl/chronyc/setenforce/update-*: showing reads; setting
    changes the machine."""
    pos = [a for a in args if not a.startswith("-")]
    head = pos[0] if pos else ""
    if prog == "sysctl":
        if (
            "-w" in args
            or "-p" in args
            or "--load" in args
            or "--system" in args
            or any("=" in a for a in pos)
        ):
            return _p(mut("sysctl changes kernel settings"))
        return _p(ro("sysctl only prints kernel settings"))
    if prog in ("hostnamectl", "timedatectl", "localectl"):
        if head.startswith("set-") or (head in ("hostname",) and len(pos) > 1):
            return _p(mut(f"{prog} {head} changes system settings"))
        return _p(ro(f"{prog} {head or 'status'} only reads".replace("  ", " ")))
    if prog == "chronyc":
        if head in ("makestep", "burst", "online", "offline", "reload", "settime", "add", "delete"):
            return _p(mut(f"chronyc {head} changes time synchronisation"))
        return _p(ro(f"chronyc {head} only reads"))
    if prog in (
        "getenforce",
        "sestatus",
        "ntpq",
        "ntpstat",
        "getsebool",
        "aa-status",
        "apparmor_status",
    ):
        return _p(ro(f"{prog} only reads"))
    if prog in ("conntrack",):
        if any(a in ("-F", "--flush", "-D", "--delete") for a in args):
            return _p(des("conntrack -F/-D drops tracked connections"))
        return _p(ro("conntrack only lists connections"))
    if prog in ("iptables-save", "ip6tables-save", "nft-list"):
        return _p(ro(f"{prog} only prints rules"))
    if prog in ("iptables-restore", "ip6tables-restore"):
        return _p(des(f"{prog} replaces every firewall rule"))
    return _p(mut(f"{prog} changes system settings"))


def ssl_tools(prog: str, args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """certbot/update-ca-certificates/keytool: listing reads; renew and import change."""
    pos = [a for a in args if not a.startswith("-")]
    if prog == "certbot" and (pos[:1] == ["certificates"] or "--dry-run" in args):
        return _p(ro("certbot certificates / --dry-run changes nothing"))
    if prog == "certbot" and pos[:1] in (["delete"], ["revoke"]):
        return _p(des(f"certbot {pos[0]} removes or revokes a certificate"))
    if prog == "keytool" and any(a in ("-list", "-printcert") for a in args):
        return _p(ro("keytool -list only reads"))
    if prog == "keytool" and "-delete" in args:
        return _p(des("keytool -delete removes a key or certificate"))
    return _p(mut(f"{prog} changes certificates or keys"))


PACKAGE_TOOLS = words("""apt apt-get aptitude apt-mark yum dnf zypper apk pacman snap brew pip
pip3 pipx gem choco winget flatpak port dpkg rpm conda""")
DISK_TOOLS = (
    _DISK_GROW | _DISK_DESTROY | _DISK_READ | words("sfdisk parted fdisk gdisk mdadm lvresize")
)
WEB_SERVERS = words("nginx haproxy apachectl apache2ctl httpd caddy envoy traefik openresty")
MYSQL_TOOLS = words("""mysqldump mysqlpump mysqlbinlog mysqlshow mysqlcheck pt-kill
pt-online-schema-change pt-table-checksum pt-summary pt-mysql-summary pt-query-digest
xtrabackup mariabackup gh-ost""")
CLUSTER_TOOLS = words("""ceph nodetool kafka-topics kafka-topics.sh kafka-consumer-groups
kafka-consumer-groups.sh kafka-configs kafka-configs.sh kafka-reassign-partitions
kafka-reassign-partitions.sh kafka-delete-records kafka-delete-records.sh""")
WINDOWS_TOOLS = words("net sc sc.exe iisreset ipconfig taskkill tasklist systeminfo")
SETTING_TOOLS = words("""sysctl hostnamectl timedatectl localectl chronyc getenforce setenforce
sestatus ntpq ntpstat setsebool getsebool conntrack iptables-save ip6tables-save
iptables-restore ip6tables-restore update-ca-certificates ldconfig update-grub grub2-mkconfig
aa-status apparmor_status""")
SSL_TOOLS = words("certbot keytool")
POWERSHELL = re.compile(r"^[A-Z][a-z]+-[A-Z][A-Za-z0-9]+$")


_PS_SEGMENT = re.compile(r"""(?:'[^']*'|"[^"]*"|[^|;'"])+""")
_PS_CMDLET = re.compile(r"(?<![\w.-])([A-Z][a-z]+-[A-Z][A-Za-z0-9]+)\b")


def powershell_line(text: str) -> Verdict:
    """A PowerShell pipeline read cmdlet by cmdlet (its syntax is not the shell's: ``(Get-Date)``
    is an expression, not a subshell); the worst cmdlet decides, ``-WhatIf`` changes nothing."""
    from opsbook.runbooks.safety import worst

    verdicts: list[Verdict] = []
    for seg in _PS_SEGMENT.findall(text.replace("\n", " ")):
        parts = seg.split()
        if not parts:
            continue
        head = parts[0]
        if POWERSHELL.match(head):
            verdicts.append(powershell(head, parts[1:], SimpleCommand(), False).verdict)
        else:
            verdicts.append(unk(f"PowerShell {head} cannot be read here"))
    return worst(verdicts) if verdicts else unk("no PowerShell command found")


_VERBS: dict[str, tuple[frozenset[str], frozenset[str], frozenset[str]]] = {
    # program: (read-only verbs, mutating verbs, destructive verbs); others are unknown
    "pgbackrest": (
        words("info check version help verify"),
        words("backup archive-push stanza-create stanza-upgrade start stop"),
        words("restore expire stanza-delete"),
    ),
    "patronictl": (
        words("list history show-config topology version dsn query"),
        words("switchover failover restart reload pause resume edit-config flush"),
        words("remove reinit"),
    ),
    "restic": (
        words("snapshots ls check stats diff find cat version"),
        words("backup init tag unlock copy mount"),
        words("forget prune restore rewrite"),
    ),
    "rclone": (
        words("ls lsd lsl lsf size check about version tree cat md5sum"),
        words("copy copyto move moveto mkdir"),
        words("sync delete deletefile purge rmdir rmdirs dedupe"),
    ),
    "mc": (
        words("ls stat du find cat head diff ping ready version"),
        words("cp mirror mb tag retention version-enable"),
        words("rm rb"),
    ),
    "gitlab-rake": (
        words("gitlab:check gitlab:env:info gitlab:doctor:secrets gitlab:db:validate_config"),
        words("gitlab:backup:create cache:clear gitlab:db:reindex db:migrate"),
        words("gitlab:backup:restore gitlab:cleanup:orphan_job_artifact_files"),
    ),
    "pg_autoctl": (
        words("show status version"),
        words("perform enable disable set"),
        words("drop"),
    ),
    "mongodump": (words(""), words(""), words("")),
}


def verb_tool(prog: str, args: list[str], cmd: SimpleCommand, piped: bool) -> Part:
    """Tools read by their verb (pgbackrest, patronictl, restic, rclone, mc, gitlab-rake):
    status and listing verbs read; backups and switchovers change; restores, prunes and
    deletes lose data."""
    if prog == "mongodump":
        return _p(ro("mongodump only reads the database (the dump is written locally)"))
    read, change, destroy = _VERBS[prog]
    verbs = [a for a in args if not a.startswith("-")]
    sub = next((v for v in verbs if v in read | change | destroy), verbs[0] if verbs else "")
    if prog == "rclone" and sub in ("copy", "move") and "--dry-run" in args:
        return _p(ro(f"rclone {sub} --dry-run changes nothing"))
    if sub in destroy:
        return _p(des(f"{prog} {sub} deletes data or restores over it"))
    if sub in change:
        return _p(mut(f"{prog} {sub} changes data or the cluster"))
    if sub in read:
        return _p(ro(f"{prog} {sub} only reads"))
    return _p(unk(f"unrecognised {prog} {sub}".strip()))


VERB_TOOLS = frozenset(_VERBS)
