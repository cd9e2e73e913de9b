"""Reading what ImportCertificate is given: one PEM certificate, its private key, a PEM chain.

Pure (no I/O): `parse_import(certificate, private_key, chain)` checks the three blobs the way
ACM does and returns the facts DescribeCertificate reports, or raises `ValidationException`
with ACM's message. ACM takes X.509 certificates with RSA (1024, 2048, 3072, 4096 bits) or
ECDSA (P-256, P-384, P-521) keys; the key must be unencrypted and must match the certificate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm as UnsupportedAlgorithmError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from dockyard.core.errors import ValidationException

__all__ = ["Parsed", "parse_import"]

_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)
_MORE_THAN_ONE = (
    "The certificate field contains more than one certificate. "
    "You can specify only one certificate in this field."
)
_UNPARSABLE = "Unable to parse certificate. Please ensure the certificate is in PEM format."
_BAD_CHAIN = "The certificate chain provided is not in a valid PEM format."
_KEY_UNSUPPORTED = "The private key is not supported."
_KEY_ENCRYPTED = "Your private key should not be encrypted."
_KEY_MISMATCH = "The private key does not match the public key in the certificate."
_NOT_V3 = "The certificate is not a X.509 version 3 certificate."
_RSA_SIZES = (1024, 2048, 3072, 4096)
_CURVES = {"secp256r1": "EC_prime256v1", "secp384r1": "EC_secp384r1", "secp521r1": "EC_secp521r1"}
_EKU_NAMES = {
    ExtendedKeyUsageOID.SERVER_AUTH: "TLS_WEB_SERVER_AUTHENTICATION",
    ExtendedKeyUsageOID.CLIENT_AUTH: "TLS_WEB_CLIENT_AUTHENTICATION",
    ExtendedKeyUsageOID.CODE_SIGNING: "CODE_SIGNING",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "EMAIL_PROTECTION",
    ExtendedKeyUsageOID.TIME_STAMPING: "TIME_STAMPING",
    ExtendedKeyUsageOID.OCSP_SIGNING: "OCSP_SIGNING",
}
_KEY_USAGES = (
    ("digital_signature", "DIGITAL_SIGNATURE"),
    ("content_commitment", "NON_REPUDIATION"),
    ("key_encipherment", "KEY_ENCIPHERMENT"),
    ("data_encipherment", "DATA_ENCIPHERMENT"),
    ("key_agreement", "KEY_AGREEMENT"),
    ("key_cert_sign", "CERTIFICATE_SIGNING"),
    ("crl_sign", "CRL_SIGNING"),
)


@dataclass(frozen=True, slots=True)
class Parsed:
    certificate: str  # the PEM as ACM returns it
    chain: str | None
    private_key: bytes  # PEM, to be sealed
    domain_name: str
    alternative_names: tuple[str, ...]
    serial: str  # "0a:1b:..."
    subject: str
    issuer: str
    not_before: float
    not_after: float
    key_algorithm: str
    signature_algorithm: str
    key_usages: tuple[str, ...]
    extended_key_usages: tuple[str, ...]


def _name(name: x509.Name) -> str:
    return ",".join(attribute.rfc4514_string() for attribute in reversed(list(name)))


def _one_certificate(blob: bytes) -> x509.Certificate:
    blocks = _BLOCK.findall(blob)
    if len(blocks) > 1:
        raise ValidationException(_MORE_THAN_ONE)
    if len(blocks) != 1:
        raise ValidationException(_UNPARSABLE)
    try:
        return x509.load_pem_x509_certificate(blocks[0])
    except ValueError as exc:
        raise ValidationException(_UNPARSABLE) from exc


def _chain(blob: bytes | None) -> str | None:
    if not blob or not blob.strip():
        return None
    blocks = _BLOCK.findall(blob)
    if not blocks:
        raise ValidationException(_BAD_CHAIN)
    for block in blocks:
        try:
            x509.load_pem_x509_certificate(block)
        except ValueError as exc:
            raise ValidationException(_BAD_CHAIN) from exc
    return "\n".join(b.decode("ascii") for b in blocks) + "\n"


def _key(blob: bytes) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    if b"ENCRYPTED" in blob:
        raise ValidationException(_KEY_ENCRYPTED)
    try:
        key = serialization.load_pem_private_key(blob, password=None)
    except TypeError as exc:  # it needs a password
        raise ValidationException(_KEY_ENCRYPTED) from exc
    except (ValueError, UnsupportedAlgorithmError) as exc:
        raise ValidationException(_KEY_UNSUPPORTED) from exc
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size in _RSA_SIZES:
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in _CURVES:
        return key
    raise ValidationException(_KEY_UNSUPPORTED)


def _algorithm(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return f"RSA_{key.key_size}"
    return _CURVES[key.curve.name]


def _signature_algorithm(cert: x509.Certificate) -> str:
    """ACM's spelling: SHA256WITHRSA, SHA384WITHECDSA, ..."""
    oid_name = getattr(cert.signature_algorithm_oid, "_name", "") or ""
    text = oid_name.replace("Encryption", "").upper()  # sha256WithRSAEncryption -> SHA256WITHRSA
    if text.startswith("ECDSA-WITH-"):  # ecdsa-with-SHA256 -> SHA256WITHECDSA
        return text.removeprefix("ECDSA-WITH-") + "WITHECDSA"
    return text


def _alternative_names(cert: x509.Certificate, domain: str) -> tuple[str, ...]:
    try:
        extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return (domain,) if domain else ()
    names = [str(n) for n in extension.value.get_values_for_type(x509.DNSName)]
    return tuple(dict.fromkeys([domain, *names] if domain else names))


def _usages(cert: x509.Certificate) -> tuple[tuple[str, ...], tuple[str, ...]]:
    usages: list[str] = []
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        for attribute, name in _KEY_USAGES:
            if getattr(usage, attribute):
                usages.append(name)
    except x509.ExtensionNotFound:
        pass
    extended: list[str] = []
    try:
        for oid in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value:
            extended.append(_EKU_NAMES.get(oid, "OTHER"))
    except x509.ExtensionNotFound:
        pass
    return tuple(usages), tuple(extended)


def _serial(number: int) -> str:
    raw = number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big")
    return ":".join(f"{b:02x}" for b in raw)


def _public(key: object) -> bytes:
    assert isinstance(key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey))
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def parse_import(certificate: bytes, private_key: bytes, chain: bytes | None) -> Parsed:
    cert = _one_certificate(certificate)
    if cert.version != x509.Version.v3:
        raise ValidationException(_NOT_V3)
    key = _key(private_key)
    if _public(key.public_key()) != _public(cert.public_key()):
        raise ValidationException(_KEY_MISMATCH)
    common = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    domain = str(common[0].value) if common else ""
    alternative = _alternative_names(cert, domain)
    usages, extended = _usages(cert)
    plain = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return Parsed(
        certificate=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        chain=_chain(chain),
        private_key=plain,
        domain_name=domain or (alternative[0] if alternative else ""),
        alternative_names=alternative,
        serial=_serial(cert.serial_number),
        subject=_name(cert.subject),
        issuer=_issuer(cert),
        not_before=cert.not_valid_before_utc.timestamp(),
        not_after=cert.not_valid_after_utc.timestamp(),
        key_algorithm=_algorithm(key),
        signature_algorithm=_signature_algorithm(cert),
        key_usages=usages,
        extended_key_usages=extended,
    )


def _issuer(cert: x509.Certificate) -> str:
    """ACM reports the issuer's organization (or common name), e.g. "Amazon"."""
    for oid in (NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME):
        found = cert.issuer.get_attributes_for_oid(oid)
        if found:
            return str(found[0].value)
    return _name(cert.issuer)
