"""Safety of common operations commands: package managers, systemd, disks, cloud CLIs, helm,
terraform, docker, git, database admin tools, etcd/consul/vault, web-server reloads, firewalls,
crontab, PowerShell and SQL replication statements."""

from __future__ import annotations

import pytest

from opsbook.runbooks.classify import classify

RO, MUT, DES, UNK = "read-only", "mutating", "destructive", "unknown"

CASES = [
    ("apt list --installed", RO),
    ("sudo apt-get install -y nginx", MUT),
    ("sudo apt-get purge -y nginx", DES),
    ("yum remove httpd", DES),
    ("dnf check-update", RO),
    ("dpkg -l | grep nginx", RO),
    ("rpm -e legacy-agent", DES),
    ("pip install -r requirements.txt", MUT),
    ("brew services restart postgresql", MUT),
    ("systemctl restart nginx", MUT),
    ("systemctl reboot", DES),
    ("growpart /dev/xvda 1", MUT),
    ("resize2fs /dev/xvda1", MUT),
    ("xfs_growfs /", MUT),
    ("lvextend -r -L +20G /dev/vg0/data", MUT),
    ("lvreduce -L 10G /dev/vg0/data", DES),
    ("e2fsck -n /dev/sdb1", RO),
    ("e2fsck -fy /dev/sdb1", DES),
    ("mkfs.ext4 /dev/sdc", DES),
    ("pvs", RO),
    ("parted -l", RO),
    ("aws s3 rm s3://bucket/key", DES),
    ("aws ec2 describe-instances", RO),
    ("gcloud compute instances delete vm-1", DES),
    ("az vm restart -g rg -n vm", MUT),
    ("azcopy list https://a.blob.core.windows.net/c", RO),
    ("azcopy copy ./dump https://a.blob.core.windows.net/c --recursive", MUT),
    ("azcopy sync ./d https://a.blob.core.windows.net/c --delete-destination=true", DES),
    ("azcopy remove https://a.blob.core.windows.net/c/old --recursive", DES),
    ("helm -n api rollback api 3", MUT),
    ("helm uninstall api", DES),
    ("terraform plan", RO),
    ("terraform apply -auto-approve", MUT),
    ("terraform apply -destroy", DES),
    ("terraform state rm aws_instance.x", DES),
    ("docker restart api", MUT),
    ("podman ps", RO),
    ("git reset --hard origin/main", DES),
    ("git log --oneline -5", RO),
    ("mysqladmin processlist", RO),
    ("mysqladmin flush-hosts", MUT),
    ("mysqladmin shutdown", DES),
    ("mysqldump orders > /tmp/orders.sql", MUT),
    ("redis-cli CONFIG SET maxmemory 2gb", MUT),
    ("redis-cli FLUSHALL", DES),
    ("etcdctl endpoint health", RO),
    ("etcdctl defrag", MUT),
    ("etcdctl del --prefix /registry/events", DES),
    ("etcdctl snapshot restore snap.db", DES),
    ("consul members", RO),
    ("consul kv put config/x 1", MUT),
    ("consul kv delete -recurse config/", DES),
    ("vault status", RO),
    ("vault operator unseal", MUT),
    ("vault kv destroy -versions=1 secret/x", DES),
    ("nginx -t", RO),
    ("nginx -s reload", MUT),
    ("haproxy -c -f /etc/haproxy/haproxy.cfg", RO),
    ("apachectl graceful", MUT),
    ("iptables -L -n", RO),
    ("iptables -A INPUT -s 10.0.0.1 -j DROP", MUT),
    ("iptables -F", DES),
    ("crontab -l", RO),
    ("crontab -r", DES),
    ("sysctl -w net.core.somaxconn=4096", MUT),
    ("sysctl net.core.somaxconn", RO),
    ("hostnamectl set-hostname web-2", MUT),
    ("certbot renew", MUT),
    ("certbot certificates", RO),
    ("Get-Process | Sort-Object CPU", RO),
    ("Restart-Service W3SVC", MUT),
    ("Remove-Item C:\\temp -Recurse", DES),
    ("Remove-Item C:\\temp -Recurse -WhatIf", RO),
    ("patronictl list", RO),
    ("patronictl switchover --force", MUT),
    ("pgbackrest --stanza=main restore", DES),
    ("kafka-topics --bootstrap-server k:9092 --describe", RO),
    ("kafka-topics --bootstrap-server k:9092 --delete --topic t", DES),
    ("export NS=prod", MUT),
]


@pytest.mark.parametrize(("command", "safety"), CASES)
def test_ops_command_safety(command: str, safety: str) -> None:
    c = classify(command, "bash")
    assert c.executable
    assert c.safety == safety, c.reason
    assert c.reason


SQL = [
    ("STOP SLAVE;", MUT),
    ("START REPLICA;", MUT),
    ("START TRANSACTION;", RO),
    ("CHANGE MASTER TO MASTER_HOST='db-2';", MUT),
    ("RESET MASTER;", DES),
    ("PURGE BINARY LOGS BEFORE '2026-12-01';", DES),
    ("SET GLOBAL max_connections = 500;", MUT),
    ("SET @@GLOBAL.read_only = 1;", MUT),
    ("SET search_path TO app;", RO),
    ("PAUSE orders;", MUT),
    ("SHUTDOWN;", DES),
]


@pytest.mark.parametrize(("sql", "safety"), SQL)
def test_sql_admin_statements(sql: str, safety: str) -> None:
    c = classify(sql, "sql")
    assert c.safety == safety, c.reason
