"""A secured Apache Kafka (KRaft, one node) as a JVM process, for the tests
and `thresholds broker --kafka --secure`.

- a SASL_SSL listener offering SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN;
- an SSL listener that requires a client certificate (mutual TLS), also the
  one the node talks to itself on, as does its controller listener;
- `StandardAuthorizer` with `allow.everyone.if.no.acl.found=false`: a
  principal may do only what an ACL grants it, except the super users (the
  node itself, `User:broker`, and `User:admin`);
- the SCRAM users are added when the storage is formatted, the PLAIN ones in
  the listener's JAAS entry (the same names and passwords);
- a CA, the node's certificate (for `localhost` only: a client dialling 127.0.0.1
  meets a certificate for another host) and one client
  certificate per mutual-TLS user, made here with `cryptography`, in PEM
  files: no keytool, no Java key store.

A mutual-TLS client's principal is its certificate's common name
(`User:NAME`), as a SASL client's is its user name.
"""

from __future__ import annotations

import datetime
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streams.kafka.apache import _SERVER_PROPERTIES, ApacheKafka, launch
from streams.kafka.embedded import free_port

__all__ = ["ADMIN", "MECHANISMS", "Pki", "SecureKafka", "make_pki", "start_secure_kafka"]

ADMIN = "admin"
"""The super user of the SASL listener (and of the mutual-TLS one, by its certificate)."""

MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN")
"""The SASL mechanisms the SASL_SSL listener offers."""

_DAYS = 30


@dataclass(frozen=True)
class Pki:
    """The PEM files of a secured node: a CA, the node's key and chain, and
    each mutual-TLS client's certificate and key."""

    folder: Path

    @property
    def ca(self) -> Path:
        """The CA certificate: the clients' `KAFKA_SSL_CAFILE`."""
        return self.folder / "ca.pem"

    @property
    def broker(self) -> Path:
        """The node's private key followed by its certificate chain (a PEM key store)."""
        return self.folder / "broker.pem"

    def certificate(self, name: str) -> Path:
        """Client `name`'s certificate (`KAFKA_SSL_CERTFILE`)."""
        return self.folder / f"{name}.pem"

    def key(self, name: str) -> Path:
        """Client `name`'s private key (`KAFKA_SSL_KEYFILE`)."""
        return self.folder / f"{name}.key"


def make_pki(folder: Path, clients: Iterable[str]) -> Pki:
    """A CA, a certificate for the node and one per client name, in `folder`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    def pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,  # what Kafka's PEM key store reads
            serialization.NoEncryption(),
        )

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("follower-thresholds test CA"))
        .issuer_name(name("follower-thresholds test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )

    def issue(common: str, usages: list[x509.ObjectIdentifier], san: bool) -> tuple[bytes, bytes]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(common))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=_DAYS))
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        )
        if san:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName("localhost")]),
                critical=False,
            )
        certificate = builder.sign(ca_key, hashes.SHA256())
        return pem_key(key), certificate.public_bytes(serialization.Encoding.PEM)

    pki = Pki(folder)
    ca_pem = ca.public_bytes(serialization.Encoding.PEM)
    pki.ca.write_bytes(ca_pem)
    # the node is a TLS server to clients and a TLS client to its own controller
    key, chain = issue(
        "broker", [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH], san=True
    )
    pki.broker.write_bytes(key + chain + ca_pem)
    pki.broker.chmod(0o600)
    for client in clients:
        key, chain = issue(client, [ExtendedKeyUsageOID.CLIENT_AUTH], san=False)
        pki.key(client).write_bytes(key)
        pki.key(client).chmod(0o600)
        pki.certificate(client).write_bytes(chain)
    return pki


@dataclass
class SecureKafka(ApacheKafka):
    """A running secured node: `port` is its SASL_SSL listener."""

    ssl_port: int = 0
    pki: Pki = field(default_factory=lambda: Pki(Path()))
    users: Mapping[str, str] = field(default_factory=dict)

    @property
    def ssl_bootstrap_servers(self) -> str:
        """The mutual-TLS listener, `localhost:PORT`."""
        return f"localhost:{self.ssl_port}"

    def sasl_env(self, user: str, mechanism: str = "SCRAM-SHA-512") -> dict[str, str]:
        """The environment of a client of the SASL_SSL listener as `user`."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SASL_MECHANISM": mechanism,
            "KAFKA_SASL_USERNAME": user,
            "KAFKA_SASL_PASSWORD": self.users[user],
            "KAFKA_SSL_CAFILE": str(self.pki.ca),
        }

    def ssl_env(self, client: str) -> dict[str, str]:
        """The environment of a client of the mutual-TLS listener, principal `User:client`."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.ssl_bootstrap_servers,
            "KAFKA_SECURITY_PROTOCOL": "SSL",
            "KAFKA_SSL_CAFILE": str(self.pki.ca),
            "KAFKA_SSL_CERTFILE": str(self.pki.certificate(client)),
            "KAFKA_SSL_KEYFILE": str(self.pki.key(client)),
        }

    def set_password(self, user: str, password: str) -> None:
        """Give SCRAM `user` a new password (both mechanisms), as the super
        user: how an operator rotates it. Open connections stay authenticated;
        new ones need the new password."""
        from confluent_kafka import admin as rdkafka_admin
        from confluent_kafka.admin import AdminClient

        # not in the package's typed exports
        info, mechanisms = rdkafka_admin.ScramCredentialInfo, rdkafka_admin.ScramMechanism  # type: ignore[attr-defined]
        upsertion = rdkafka_admin.UserScramCredentialUpsertion  # type: ignore[attr-defined]

        admin = AdminClient(
            {
                "bootstrap.servers": self.bootstrap_servers,
                "security.protocol": "SASL_SSL",
                "sasl.mechanism": "SCRAM-SHA-512",
                "sasl.username": ADMIN,
                "sasl.password": self.users[ADMIN],
                "ssl.ca.location": str(self.pki.ca),
                "log_level": 0,
            }
        )
        for mechanism in (mechanisms.SCRAM_SHA_256, mechanisms.SCRAM_SHA_512):
            # one alteration per user and request
            upsert = upsertion(user, info(mechanism, 8192), password.encode())
            for future in admin.alter_user_scram_credentials([upsert]).values():
                future.result(timeout=30)
        self.users = {**self.users, user: password}

    def admin_properties(self) -> str:
        """The super user's client settings for Kafka's own tools
        (`kafka-acls.sh --command-config`): SASL_SSL, the CA as a PEM trust store."""
        password = self.users[ADMIN]
        return (
            "security.protocol=SASL_SSL\n"
            "sasl.mechanism=SCRAM-SHA-512\n"
            "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{ADMIN}" password="{password}";\n'
            "ssl.truststore.type=PEM\n"
            f"ssl.truststore.location={self.pki.ca}\n"
        )

    def admin_config(self) -> dict[str, Any]:
        """kafka-python settings of the super user (for ACLs and checks)."""
        return {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": ADMIN,
            "sasl_plain_password": self.users[ADMIN],
            "ssl_cafile": str(self.pki.ca),
        }


def _properties(
    sasl_port: int,
    ssl_port: int,
    controller_port: int,
    data: Path,
    pki: Pki,
    users: Mapping[str, str],
) -> str:
    plain_users = " ".join(f'user_{user}="{password}"' for user, password in users.items())
    scram = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
    overrides = {
        "controller.quorum.voters": f"1@localhost:{controller_port}",
        "listeners": (
            f"SASL_SSL://localhost:{sasl_port},SSL://localhost:{ssl_port},"
            f"CONTROLLER://localhost:{controller_port}"
        ),
        "advertised.listeners": f"SASL_SSL://localhost:{sasl_port},SSL://localhost:{ssl_port}",
        "listener.security.protocol.map": "CONTROLLER:SSL,SSL:SSL,SASL_SSL:SASL_SSL",
        "inter.broker.listener.name": "SSL",
        "log.dirs": str(data),
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(pki.broker),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(pki.ca),
        "ssl.client.auth": "required",
        "listener.name.sasl_ssl.ssl.client.auth": "none",
        "ssl.principal.mapping.rules": "RULE:^CN=([^,]+).*$/$1/,DEFAULT",
        "sasl.enabled.mechanisms": ",".join(MECHANISMS),
        "listener.name.sasl_ssl.sasl.enabled.mechanisms": ",".join(MECHANISMS),
        "listener.name.sasl_ssl.plain.sasl.jaas.config": (
            f"org.apache.kafka.common.security.plain.PlainLoginModule required {plain_users};"
        ),
        "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config": scram,
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": scram,
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found": "false",
        "super.users": f"User:broker;User:{ADMIN}",
    }
    lines = [
        line
        for line in _SERVER_PROPERTIES.read_text().splitlines()
        if line.split("=", 1)[0].strip() not in overrides
    ]
    lines += [f"{k}={v}" for k, v in overrides.items()]
    return "\n".join(lines) + "\n"


def _answers_tls(bootstrap_servers: str, pki: Pki) -> bool:
    """Whether the node answers a metadata request on its mutual-TLS listener,
    as itself. librdkafka's sockets, not Python's: a refused TLS connection of
    kafka-python's leaves an unclosed SSL socket behind."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(
        {
            "bootstrap.servers": bootstrap_servers,
            "security.protocol": "SSL",
            "ssl.ca.location": str(pki.ca),
            "ssl.certificate.location": str(pki.broker),
            "ssl.key.location": str(pki.broker),
            "log_level": 0,
        }
    )
    try:
        admin.list_topics(timeout=3)
    except KafkaException:
        return False
    return True


def start_secure_kafka(
    users: Mapping[str, str],
    clients: Iterable[str] = (),
    workdir: Path | None = None,
    timeout: float = 90.0,
) -> SecureKafka:
    """Start a secured node with SASL `users` (name -> password; `admin` is
    added, a super user) and mutual-TLS `clients` (certificate names)."""
    import secrets

    users = {ADMIN: secrets.token_urlsafe(18), **users}
    workdir = workdir or Path(tempfile.mkdtemp(prefix="apache-kafka-secure-"))
    pki = make_pki(workdir / "pki", clients)
    sasl_port, ssl_port = free_port(), free_port()
    config = _properties(sasl_port, ssl_port, free_port(), workdir / "data", pki, users)
    scram = [
        arg
        for user, password in users.items()
        for mechanism in MECHANISMS[:2]
        for arg in ("--add-scram", f"{mechanism}=[name={user},password={password}]")
    ]
    process = launch(
        workdir,
        config,
        answers=lambda: _answers_tls(f"localhost:{ssl_port}", pki),
        format_args=scram,
        timeout=timeout,
    )
    return SecureKafka(process, sasl_port, workdir, ssl_port=ssl_port, pki=pki, users=users)
