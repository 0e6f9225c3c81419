//! RSA keys: generated and parsed with aws-lc-rs once, kept parsed; PEM only at the edges (stored and published).

use aws_lc_rs::{
    encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der},
    rand::SystemRandom,
    rsa::{KeyPair, KeySize},
    signature::{self, KeyPair as _, ParsedPublicKey, RsaParameters},
};
use base64::{Engine, engine::general_purpose::STANDARD};

/// Why a key could not be made, read or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot generate an RSA key")]
    Generate,
    #[error("the private key is not a valid PKCS#8 RSA key")]
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

/// A remote actor's public key, parsed once and kept parsed.
#[derive(Clone)]
pub struct PublicKey {
    key: ParsedPublicKey,
    /// The SubjectPublicKeyInfo, for algorithms other than PKCS#1 v1.5 (RFC 9421 allows RSA-PSS).
    der: Vec<u8>,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PublicKey(RSA)")
    }
}

impl PublicKey {
    /// Reads a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) or `RSA PUBLIC KEY` (PKCS#1). Keys under 2048 bits are refused.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        Self::from_pem_with(pem, &signature::RSA_PKCS1_2048_8192_SHA256)
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
        Ok(Self { key, der })
    }

    /// Checks an RSASSA-PKCS1-v1_5 SHA-256 signature.
    pub fn verify_sha256(&self, message: &[u8], signature: &[u8]) -> bool {
        self.key.verify_sig(message, signature).is_ok()
    }

    /// Checks an RSASSA-PSS SHA-512 signature (RFC 9421's rsa-pss-sha512).
    pub fn verify_pss_sha512(&self, message: &[u8], signature: &[u8]) -> bool {
        signature::UnparsedPublicKey::new(&signature::RSA_PSS_2048_8192_SHA512, &self.der)
            .verify(message, signature)
            .is_ok()
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
