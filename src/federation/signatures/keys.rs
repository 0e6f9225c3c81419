//! RSA and Ed25519 keys: generated and parsed with aws-lc-rs once, kept parsed; PEM (and, for Ed25519, FEP-521a's
//! multibase) only at the edges, where keys are stored and published.

use aws_lc_rs::{
    encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der},
    rand::SystemRandom,
    rsa::{KeyPair, KeySize},
    signature::{self, Ed25519KeyPair, KeyPair as _, ParsedPublicKey, RsaParameters},
};
use base64::{Engine, engine::general_purpose::STANDARD};

/// Why a key could not be made, read or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot generate a key")]
    Generate,
    #[error("the private key is not a valid PKCS#8 key of the expected type")]
    PrivateKey,
    #[error("the public key is not a usable RSA key: {0}")]
    PublicKey(&'static str),
    #[error("cannot sign")]
    Sign,
}

/// The blog's private key. Its `Debug` output never shows the key.
pub struct PrivateKey {
    pair: KeyPair,
    rng: SystemRandom,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey(<redacted>)")
    }
}

impl PrivateKey {
    /// A new RSA-2048 key (what Mastodon and every peer accept).
    pub fn generate() -> Result<Self, KeyError> {
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
        Ok(Self {
            pair,
            rng: SystemRandom::new(),
        })
    }

    /// Reads a key stored as PKCS#8 DER.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let pair = KeyPair::from_pkcs8(der).map_err(|_| KeyError::PrivateKey)?;
        Ok(Self {
            pair,
            rng: SystemRandom::new(),
        })
    }

    /// Reads a PEM `PRIVATE KEY` (PKCS#8) or `RSA PRIVATE KEY` (PKCS#1), as WordPress's ActivityPub plugin and
    /// OpenSSL write them.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let (label, der) =
            pem_block(pem, &["PRIVATE KEY", "RSA PRIVATE KEY"]).ok_or(KeyError::PrivateKey)?;
        let pair = if label == "PRIVATE KEY" {
            KeyPair::from_pkcs8(&der)
        } else {
            KeyPair::from_der(&der)
        }
        .map_err(|_| KeyError::PrivateKey)?;
        Ok(Self {
            pair,
            rng: SystemRandom::new(),
        })
    }

    /// Whether `public` is this key's public half (whatever its PEM encoding): a signature by this key verifies
    /// with it.
    pub fn matches(&self, public: &PublicKey) -> bool {
        let message = b"steppe: is this the public half of the key?";
        self.sign_sha256(message)
            .is_ok_and(|sig| public.verify_sha256(message, &sig))
    }

    /// The key as PKCS#8 DER, for storage.
    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>, KeyError> {
        let der: Pkcs8V1Der<'static> = self.pair.as_der().map_err(|_| KeyError::PrivateKey)?;
        Ok(der.as_ref().to_vec())
    }

    /// The public half as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo), as actors publish it in `publicKeyPem`.
    pub fn public_key_pem(&self) -> Result<String, KeyError> {
        let der: PublicKeyX509Der<'static> = self
            .pair
            .public_key()
            .as_der()
            .map_err(|_| KeyError::PublicKey("cannot encode"))?;
        Ok(to_pem("PUBLIC KEY", der.as_ref()))
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `message`.
    pub fn sign_sha256(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &self.rng,
                message,
                &mut signature,
            )
            .map_err(|_| KeyError::Sign)?;
        Ok(signature)
    }
}

/// The blog's Ed25519 key (FEP-521a), for RFC 9421 signatures toward servers that accept them. Its `Debug` output
/// never shows the key.
pub struct Ed25519Key {
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for Ed25519Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ed25519Key(<redacted>)")
    }
}

/// The multicodec prefix of an Ed25519 public key (`ed25519-pub`, 0xed as an unsigned varint).
const ED25519_MULTICODEC: [u8; 2] = [0xed, 0x01];
/// The DER of an Ed25519 SubjectPublicKeyInfo up to the 32 key bytes (RFC 8410).
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

impl Ed25519Key {
    pub fn generate() -> Result<Self, KeyError> {
        let pair = Ed25519KeyPair::generate().map_err(|_| KeyError::Generate)?;
        Ok(Self { pair })
    }

    /// Reads a key stored as PKCS#8 DER.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let pair = Ed25519KeyPair::from_pkcs8(der).map_err(|_| KeyError::PrivateKey)?;
        Ok(Self { pair })
    }

    /// The key as PKCS#8 (v1) DER, for storage.
    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>, KeyError> {
        let doc = self.pair.to_pkcs8v1().map_err(|_| KeyError::PrivateKey)?;
        Ok(doc.as_ref().to_vec())
    }

    /// The public half as FEP-521a publishes it in a `Multikey`: `z` and the base58btc of the multicodec
    /// `ed25519-pub` prefix and the 32 key bytes.
    pub fn public_key_multibase(&self) -> String {
        let mut bytes = ED25519_MULTICODEC.to_vec();
        bytes.extend_from_slice(self.pair.public_key().as_ref());
        format!("z{}", bs58::encode(bytes).into_string())
    }

    /// The public half as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo), for storage.
    pub fn public_key_pem(&self) -> String {
        let mut der = ED25519_SPKI_PREFIX.to_vec();
        der.extend_from_slice(self.pair.public_key().as_ref());
        to_pem("PUBLIC KEY", &der)
    }

    /// An Ed25519 signature over `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.pair.sign(message).as_ref().to_vec()
    }
}

/// What kind of key a [`PublicKey`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Rsa,
    Ed25519,
}

/// A remote actor's public key, parsed once and kept parsed.
#[derive(Clone)]
pub struct PublicKey {
    key: ParsedPublicKey,
    /// The SubjectPublicKeyInfo, for algorithms other than PKCS#1 v1.5 (RFC 9421 allows RSA-PSS).
    der: Vec<u8>,
    kind: KeyKind,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({:?})", self.kind)
    }
}

impl PublicKey {
    /// Reads a PEM `PUBLIC KEY` (SubjectPublicKeyInfo, RSA or Ed25519) or `RSA PUBLIC KEY` (PKCS#1). RSA keys under
    /// 2048 bits are refused.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let der = from_pem(pem)?;
        if der.starts_with(&ED25519_SPKI_PREFIX) {
            return Self::ed25519(&der[ED25519_SPKI_PREFIX.len()..]);
        }
        Self::from_pem_with(pem, &signature::RSA_PKCS1_2048_8192_SHA256)
    }

    /// Reads FEP-521a's `publicKeyMultibase` of an Ed25519 `Multikey` (`z6Mk…`).
    pub fn from_multibase(value: &str) -> Result<Self, KeyError> {
        // An Ed25519 key is 48 characters; anything much longer is not one, and is not decoded.
        let encoded = value
            .strip_prefix('z')
            .filter(|v| v.len() <= 64)
            .ok_or(KeyError::PublicKey("not a base58btc multibase value"))?;
        let bytes = bs58::decode(encoded)
            .into_vec()
            .map_err(|_| KeyError::PublicKey("not base58btc"))?;
        let raw = bytes
            .strip_prefix(&ED25519_MULTICODEC)
            .ok_or(KeyError::PublicKey("not an Ed25519 multikey"))?;
        Self::ed25519(raw)
    }

    fn ed25519(raw: &[u8]) -> Result<Self, KeyError> {
        if raw.len() != 32 {
            return Err(KeyError::PublicKey("an Ed25519 key is 32 bytes"));
        }
        let key = ParsedPublicKey::new(&signature::ED25519, raw)
            .map_err(|_| KeyError::PublicKey("not an Ed25519 key"))?;
        let mut der = ED25519_SPKI_PREFIX.to_vec();
        der.extend_from_slice(raw);
        Ok(Self {
            key,
            der,
            kind: KeyKind::Ed25519,
        })
    }

    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The key as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo), as it is stored.
    pub fn to_pem(&self) -> String {
        to_pem("PUBLIC KEY", &self.der)
    }

    /// Like [`PublicKey::from_pem`] with the verification parameters given (tests use the 1024-bit vectors of the
    /// draft-cavage specification).
    pub(crate) fn from_pem_with(
        pem: &str,
        params: &'static RsaParameters,
    ) -> Result<Self, KeyError> {
        let der = from_pem(pem)?;
        let rsa = aws_lc_rs::rsa::PublicKey::from_der(&der)
            .map_err(|_| KeyError::PublicKey("not an RSA key"))?;
        let bits = rsa.modulus_len() * 8;
        if bits < params.min_modulus_len() as usize {
            return Err(KeyError::PublicKey("shorter than 2048 bits"));
        }
        let key = ParsedPublicKey::new(params, der.clone())
            .map_err(|_| KeyError::PublicKey("not an RSA key of an accepted size"))?;
        Ok(Self {
            key,
            der,
            kind: KeyKind::Rsa,
        })
    }

    /// Checks an RSASSA-PKCS1-v1_5 SHA-256 signature (false for an Ed25519 key).
    pub fn verify_sha256(&self, message: &[u8], signature: &[u8]) -> bool {
        self.kind == KeyKind::Rsa && self.key.verify_sig(message, signature).is_ok()
    }

    /// Checks an RSASSA-PSS SHA-512 signature (RFC 9421's rsa-pss-sha512; false for an Ed25519 key).
    pub fn verify_pss_sha512(&self, message: &[u8], signature: &[u8]) -> bool {
        self.kind == KeyKind::Rsa
            && signature::UnparsedPublicKey::new(&signature::RSA_PSS_2048_8192_SHA512, &self.der)
                .verify(message, signature)
                .is_ok()
    }

    /// Checks an Ed25519 signature (false for an RSA key).
    pub fn verify_ed25519(&self, message: &[u8], signature: &[u8]) -> bool {
        self.kind == KeyKind::Ed25519 && self.key.verify_sig(message, signature).is_ok()
    }
}

fn to_pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut pem = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem
}

/// The label and DER of the first PEM block labelled one of `labels`.
fn pem_block(pem: &str, labels: &[&str]) -> Option<(String, Vec<u8>)> {
    let mut lines = pem.lines().map(str::trim);
    let label = lines.find_map(|l| {
        let label = l.strip_prefix("-----BEGIN ")?.strip_suffix("-----")?;
        labels.contains(&label).then(|| label.to_string())
    })?;
    let end = format!("-----END {label}-----");
    let mut body = String::new();
    for line in lines {
        if line == end {
            return STANDARD.decode(body).ok().map(|der| (label, der));
        }
        body.push_str(line);
    }
    None
}

/// The DER inside a PEM block labelled `PUBLIC KEY` or `RSA PUBLIC KEY`.
fn from_pem(pem: &str) -> Result<Vec<u8>, KeyError> {
    let pem = pem.trim();
    let begin = pem
        .lines()
        .position(|l| {
            let l = l.trim();
            l == "-----BEGIN PUBLIC KEY-----" || l == "-----BEGIN RSA PUBLIC KEY-----"
        })
        .ok_or(KeyError::PublicKey("no BEGIN PUBLIC KEY line"))?;
    let mut body = String::new();
    let mut ended = false;
    for line in pem.lines().skip(begin + 1) {
        let line = line.trim();
        if line.starts_with("-----END ") {
            ended = true;
            break;
        }
        body.push_str(line);
    }
    if !ended {
        return Err(KeyError::PublicKey("no END line"));
    }
    STANDARD
        .decode(body)
        .map_err(|_| KeyError::PublicKey("not base64"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_keys_are_read_from_either_pem_and_matched_to_their_public_half() {
        let key = PrivateKey::generate().expect("generate");
        let pkcs8 = to_pem("PRIVATE KEY", &key.to_pkcs8_der().expect("der"));
        let again = PrivateKey::from_pem(&format!("  {pkcs8}\n")).expect("pkcs8 pem");
        let public = PublicKey::from_pem(&key.public_key_pem().expect("pem")).expect("public");
        assert!(again.matches(&public));
        let other = PrivateKey::generate().expect("generate");
        assert!(!other.matches(&public));
        assert!(
            PrivateKey::from_pem(
                "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----"
            )
            .is_err()
        );
        assert!(PrivateKey::from_pem(&key.public_key_pem().expect("pem")).is_err());
    }

    #[test]
    fn generated_key_signs_and_its_pem_verifies() {
        let key = PrivateKey::generate().expect("generate");
        let pem = key.public_key_pem().expect("pem");
        assert!(
            pem.starts_with("-----BEGIN PUBLIC KEY-----\n")
                && pem.ends_with("-----END PUBLIC KEY-----\n")
        );
        let public = PublicKey::from_pem(&pem).expect("parse");
        let sig = key.sign_sha256(b"hello").expect("sign");
        assert_eq!(sig.len(), 256);
        assert!(public.verify_sha256(b"hello", &sig));
        assert!(!public.verify_sha256(b"hellO", &sig));

        let stored = key.to_pkcs8_der().expect("der");
        let again = PrivateKey::from_pkcs8_der(&stored).expect("reload");
        assert_eq!(again.public_key_pem().expect("pem"), pem);
        assert_eq!(format!("{again:?}"), "PrivateKey(<redacted>)");
    }

    #[test]
    fn ed25519_keys_round_trip_through_storage_pem_and_multibase() {
        let key = Ed25519Key::generate().expect("generate");
        let multibase = key.public_key_multibase();
        assert!(multibase.starts_with("z6Mk"), "{multibase}");
        assert_eq!(multibase.len(), 48);
        let from_multibase = PublicKey::from_multibase(&multibase).expect("multibase");
        let from_pem = PublicKey::from_pem(&key.public_key_pem()).expect("pem");
        assert_eq!(from_pem.kind(), KeyKind::Ed25519);
        assert_eq!(from_multibase.to_pem(), key.public_key_pem());
        let sig = key.sign(b"hello");
        assert_eq!(sig.len(), 64);
        assert!(from_multibase.verify_ed25519(b"hello", &sig));
        assert!(from_pem.verify_ed25519(b"hello", &sig));
        assert!(!from_pem.verify_ed25519(b"hellO", &sig));
        assert!(!from_pem.verify_sha256(b"hello", &sig), "not an RSA key");
        let again = Ed25519Key::from_pkcs8_der(&key.to_pkcs8_der().expect("der")).expect("reload");
        assert_eq!(again.public_key_multibase(), multibase);
        assert_eq!(format!("{again:?}"), "Ed25519Key(<redacted>)");
        // An RSA key verifies no Ed25519 signature.
        let rsa = PrivateKey::generate().expect("rsa");
        let rsa_public = PublicKey::from_pem(&rsa.public_key_pem().expect("pem")).expect("rsa");
        assert_eq!(rsa_public.kind(), KeyKind::Rsa);
        assert!(!rsa_public.verify_ed25519(b"hello", &sig));
    }

    #[test]
    fn a_multikey_from_the_fep_example_is_read_and_junk_is_refused() {
        // FEP-521a's example key.
        let key = PublicKey::from_multibase("z6MkekwC6R9bj9ErToB7AiZJfyCSDhaZe1UxhDbCqJrhqpS5")
            .expect("the FEP's example");
        assert_eq!(key.kind(), KeyKind::Ed25519);
        for junk in [
            "",
            "z",
            "6MkekwC6R9bj9ErToB7AiZJfyCSDhaZe1UxhDbCqJrhqpS5",
            "z0OIl",
            "zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
            &format!("z{}", "1".repeat(500)),
        ] {
            assert!(PublicKey::from_multibase(junk).is_err(), "{junk}");
        }
    }

    #[test]
    fn refuses_bad_and_small_keys() {
        assert!(PublicKey::from_pem("not a key").is_err());
        assert!(
            PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----")
                .is_err()
        );
        // The draft-cavage test key is 1024 bits: too small for real use.
        assert!(PublicKey::from_pem(super::super::cavage::tests::TEST_PUBLIC_KEY).is_err());
        assert!(PrivateKey::from_pkcs8_der(b"junk").is_err());
    }
}
