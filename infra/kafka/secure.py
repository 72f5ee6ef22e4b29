"""A secured local cluster: TLS with a CA of its own, SCRAM users, and Kafka ACLs.

`headwater kafka up --secure` gives the local broker a SASL_SSL client listener, so the
settings that connect headwater to a secured production cluster can be tried and tested here:

- **Certificates** are made with the JDK's `keytool` (no openssl, nothing fetched): a CA, and a
  broker key pair signed by it for ``localhost`` / ``127.0.0.1``, in PKCS12 stores. Clients
  trust the CA's PEM (`ca.pem`).
- **Users** are SCRAM-SHA-256 and SCRAM-SHA-512 credentials written into the metadata log when
  the storage is formatted (`--add-scram`), so they exist before the broker first answers:
  ``admin`` (a super user, also the brokers' own inter-broker identity), ``headwater`` (the
  engine, the API and the CLI) and ``producer`` (may only write triggers). Passwords are drawn
  once and kept in `users.json` (mode 0600) beside the stores.
- **ACLs** (KRaft's `StandardAuthorizer`, deny by default) are added as ``admin`` once the
  broker is up: ``headwater`` may do everything on the topics and
  consumer groups under the topic prefix, ``producer`` may only write (and describe)
  `<prefix>triggers`.

The controller listener stays on 127.0.0.1 and uses SASL PLAIN with the admin's password
(SCRAM cannot authenticate controllers: their credentials live in the log they serve).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.kafka.distribution import KafkaDistribution, KafkaSetupError

__all__ = ["MECHANISMS", "USERS", "SecureMaterial", "acl_bindings", "create_acls", "ensure_material"]

USERS = ("admin", "headwater", "producer")
MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")
_SAN = "SAN=dns:localhost,ip:127.0.0.1"


@dataclass(frozen=True)
class SecureMaterial:
    """The stores, the CA and the users' passwords of one secured cluster."""

    home: Path
    store_password: str
    passwords: dict[str, str]

    @property
    def ca_pem(self) -> Path:
        return self.home / "ca.pem"

    @property
    def keystore(self) -> Path:
        return self.home / "broker.p12"

    @property
    def truststore(self) -> Path:
        return self.home / "truststore.p12"

    @property
    def admin_properties(self) -> Path:
        """A client config for Kafka's Java tools, connecting as ``admin``."""
        return self.home / "admin.properties"

    def jaas(self, user: str, module: str = "scram.ScramLoginModule") -> str:
        return (f"org.apache.kafka.common.security.{module} required "
                f'username="{user}" password="{self.passwords[user]}";')

    def scram_arguments(self) -> list[str]:
        """`kafka-storage format` arguments that create every user's SCRAM credentials."""
        out: list[str] = []
        for user in USERS:
            for mechanism in MECHANISMS:
                out += ["--add-scram", f"{mechanism}=[name={user},password={self.passwords[user]}]"]
        return out

    def server_properties(self, port: int, controller_port: int) -> dict[str, object]:
        """The broker settings of a node whose clients connect with SASL_SSL on `port`."""
        admin = self.passwords["admin"]
        return {
            "listeners": f"SASL_SSL://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            "advertised.listeners": f"SASL_SSL://127.0.0.1:{port}",
            "inter.broker.listener.name": "SASL_SSL",
            "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT",
            "sasl.enabled.mechanisms": ",".join(MECHANISMS),
            "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": self.jaas("admin"),
            "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config": self.jaas("admin"),
            "sasl.mechanism.controller.protocol": "PLAIN",
            "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
            "listener.name.controller.plain.sasl.jaas.config": (
                "org.apache.kafka.common.security.plain.PlainLoginModule required "
                f'username="admin" password="{admin}" user_admin="{admin}";'),
            "ssl.keystore.location": self.keystore,
            "ssl.keystore.type": "PKCS12",
            "ssl.keystore.password": self.store_password,
            "ssl.key.password": self.store_password,
            "ssl.truststore.location": self.truststore,
            "ssl.truststore.type": "PKCS12",
            "ssl.truststore.password": self.store_password,
            "ssl.endpoint.identification.algorithm": "https",
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found": "false",
            "super.users": "User:admin",
        }


def ensure_material(dist: KafkaDistribution, home: Path) -> SecureMaterial:
    """The cluster's certificates and users, made on first use and reused after."""
    home.mkdir(parents=True, exist_ok=True)
    users_file = home / "users.json"
    if users_file.exists():
        saved = json.loads(users_file.read_text())
        material = SecureMaterial(home, saved["store_password"], saved["passwords"])
    else:
        material = SecureMaterial(home, secrets.token_urlsafe(18),
                                  {user: secrets.token_urlsafe(18) for user in USERS})
    if not material.truststore.exists():
        _make_certificates(dist, material)
    if not users_file.exists():
        users_file.write_text(json.dumps({"store_password": material.store_password,
                                          "passwords": material.passwords}))
        os.chmod(users_file, 0o600)
    material.admin_properties.write_text(_client_properties(material, "admin"))
    os.chmod(material.admin_properties, 0o600)
    return material


_TOPIC, _GROUP, _CLUSTER = 2, 3, 4
_LITERAL, _PREFIXED = 3, 4
_ALL, _WRITE, _CREATE, _DESCRIBE, _DESCRIBE_CONFIGS = 2, 4, 5, 8, 10
_ALLOW = 3


def acl_bindings(prefix: str, app_id: str = "headwater") -> list[tuple[int, str, int, str, int]]:
    """The ACLs of a secured local cluster, as (resource type, name, pattern, principal, operation).

    ``headwater`` gets every operation on the topics and groups under the topic `prefix` and
    under the `app_id` (the engine's consumer groups and Faust's own topics are named after it),
    and may create topics; ``producer`` may only write (and describe) `<prefix>triggers`.
    """
    hw, producer = "User:headwater", "User:producer"
    out = [(kind, name, _PREFIXED, hw, _ALL)
           for kind in (_TOPIC, _GROUP) for name in {prefix, app_id} if name]
    out += [(_CLUSTER, "kafka-cluster", _LITERAL, hw, op)
            for op in (_CREATE, _DESCRIBE, _DESCRIBE_CONFIGS)]
    out += [(_TOPIC, f"{prefix}triggers", _LITERAL, producer, op) for op in (_WRITE, _DESCRIBE)]
    return out


async def create_acls(bootstrap: str, bindings: list[tuple[int, str, int, str, int]],
                      client_options: dict[str, Any]) -> None:
    """Add `bindings` (allow, any host) with the CreateAcls request, as a super user.

    aiokafka's admin client has no ACL call, but it ships the protocol's request; Kafka's own
    `AclCommand` lives in a jar the broker does not need.
    """
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.protocol.admin import CreateAclsRequest

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_options)
    await admin.start()
    try:
        for kind, name, pattern, principal, operation in bindings:
            request = CreateAclsRequest(kind, name, pattern, principal, "*", operation, _ALLOW)
            response = await admin._send_request(request)  # no public ACL call in aiokafka
            errors = [msg or str(code) for code, msg in response.creation_responses if code]
            if errors:
                raise KafkaSetupError(f"adding the Kafka ACL {principal} {operation} on {name} "
                                      f"failed: {errors[0]}")
    finally:
        await admin.close()


def _client_properties(material: SecureMaterial, user: str) -> str:
    props = {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.jaas.config": material.jaas(user),
        "ssl.truststore.location": material.truststore,
        "ssl.truststore.type": "PKCS12",
        "ssl.truststore.password": material.store_password,
    }
    return "".join(f"{k}={v}\n" for k, v in props.items())


def _make_certificates(dist: KafkaDistribution, material: SecureMaterial) -> None:
    keytool = str(Path(dist.java).with_name("keytool"))
    home, password = material.home, material.store_password
    ca_store, csr, signed = home / "ca.p12", home / "broker.csr", home / "broker.crt"
    for path in (ca_store, material.keystore, material.truststore, csr, signed):
        path.unlink(missing_ok=True)
    store = ["-storetype", "PKCS12", "-storepass", password, "-keypass", password]
    steps = [
        ["-genkeypair", "-alias", "ca", "-dname", "CN=headwater local CA", "-keyalg", "RSA",
         "-keysize", "2048", "-validity", "3650", "-ext", "bc:c", "-keystore", str(ca_store), *store],
        ["-exportcert", "-rfc", "-alias", "ca", "-keystore", str(ca_store), "-storepass", password,
         "-file", str(material.ca_pem)],
        ["-genkeypair", "-alias", "broker", "-dname", "CN=localhost", "-keyalg", "RSA",
         "-keysize", "2048", "-validity", "3650", "-ext", _SAN,
         "-keystore", str(material.keystore), *store],
        ["-certreq", "-alias", "broker", "-keystore", str(material.keystore),
         "-storepass", password, "-file", str(csr)],
        ["-gencert", "-rfc", "-alias", "ca", "-keystore", str(ca_store), "-storepass", password,
         "-infile", str(csr), "-outfile", str(signed), "-validity", "3650", "-ext", _SAN],
        ["-importcert", "-noprompt", "-alias", "ca", "-file", str(material.ca_pem),
         "-keystore", str(material.keystore), *store],
        ["-importcert", "-noprompt", "-alias", "broker", "-file", str(signed),
         "-keystore", str(material.keystore), *store],
        ["-importcert", "-noprompt", "-alias", "ca", "-file", str(material.ca_pem),
         "-keystore", str(material.truststore), *store],
    ]
    for args in steps:
        proc = subprocess.run([keytool, *args], capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or ["no output"]
            raise KafkaSetupError(f"keytool {args[0]} failed in {home}: {tail[0]}")
