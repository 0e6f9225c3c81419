//! The owner account: validated setup input, argon2id password hashing, and creating the owner (for the setup
//! form and the command line alike).

use crate::db::{
    self, Db,
    users::{CreateOwnerError, User},
};
use argon2::{
    Algorithm, Argon2, Block, Params, Version,
    password_hash::{PasswordHash, PasswordHasher, SaltString, rand_core::OsRng},
};

/// Shortest password accepted for the owner.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// What the setup form (or `steppe admin create-owner`) asks for, before validation.
#[derive(Debug, Clone, Default)]
pub struct NewOwner {
    pub username: String,
    pub display_name: String,
    pub password: String,
}

/// A username: 1–30 of lowercase letters, digits, `_`, `.` and `-` (the shape Mastodon accepts for handles).
pub fn valid_username(name: &str) -> bool {
    (1..=30).contains(&name.len())
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
        })
}

impl NewOwner {
    /// Trims the fields and lists every problem, by field name.
    pub fn validate(&mut self) -> Vec<(&'static str, String)> {
        self.username = self.username.trim().to_ascii_lowercase();
        self.display_name = self.display_name.trim().to_string();
        let mut errors = Vec::new();
        if !valid_username(&self.username) {
            errors.push((
                "username",
                "Username: 1 to 30 lowercase letters, digits, dots, dashes or underscores."
                    .to_string(),
            ));
        }
        if self.display_name.is_empty() || self.display_name.chars().count() > 100 {
            errors.push((
                "display_name",
                "Display name: 1 to 100 characters.".to_string(),
            ));
        }
        if let Some(problem) = password_problem(&self.password) {
            errors.push(("password", problem));
        }
        errors
    }
}

/// What is wrong with a new password, if anything: too short, or too long to hash.
pub fn password_problem(password: &str) -> Option<String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        Some(format!(
            "Password: at least {MIN_PASSWORD_CHARS} characters."
        ))
    } else if password.len() > 1024 {
        Some("Password: at most 1024 bytes.".to_string())
    } else {
        None
    }
}

/// Hashes a password with argon2id and a random salt (PHC string). CPU-heavy: call from a blocking thread.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Checks a password against a stored PHC hash. CPU-heavy: call from a blocking thread.
///
/// To refuse an unknown username as slowly as a wrong password, callers verify against a decoy hash made by
/// `hash_password` at start-up and discard the result.
pub fn verify_password(password: &str, stored: &str) -> bool {
    verify_with_memory(password, stored, &mut Vec::new())
}

/// Password hashing with a bound on memory: at most `slots` argon2 computations at once (each needs its memory
/// block, 19 MiB with the default parameters), and the blocks reused from a pool rather than allocated per attempt,
/// so that no number of login attempts grows the process by more than `slots` blocks. One per instance.
pub struct Hashing {
    slots: tokio::sync::Semaphore,
    /// Memory blocks of finished computations, for the next ones (at most one per slot).
    blocks: std::sync::Mutex<Vec<Vec<Block>>>,
}

/// Every hashing slot stayed taken for [`HASH_WAIT`]: the caller should answer 503.
#[derive(Debug, thiserror::Error)]
#[error("password hashing is busy")]
pub struct Busy;

/// How long an attempt waits for a hashing slot before it is told to come back later.
const HASH_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
/// Largest argon2 memory accepted from a stored hash, in KiB (a hash Steppe made uses 19,456).
const MAX_MEMORY_KIB: u32 = 262_144;

impl Hashing {
    /// `slots` computations at once (at least one).
    pub fn new(slots: usize) -> Self {
        Self {
            slots: tokio::sync::Semaphore::new(slots.max(1)),
            blocks: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// As many slots as the machine has cores, at most four.
    pub fn for_this_machine() -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, |n| n.get().min(4)))
    }

    async fn slot(&self) -> Result<tokio::sync::SemaphorePermit<'_>, Busy> {
        match tokio::time::timeout(HASH_WAIT, self.slots.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(Busy),
        }
    }

    /// Checks `password` against a stored PHC hash off the async threads, under the bound.
    pub async fn verify(
        self: &std::sync::Arc<Self>,
        password: &str,
        stored: &str,
    ) -> Result<bool, Busy> {
        let _slot = self.slot().await?;
        let this = self.clone();
        let (password, stored) = (password.to_string(), stored.to_string());
        tokio::task::spawn_blocking(move || {
            let mut blocks = this
                .blocks
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .pop()
                .unwrap_or_default();
            let matches = verify_with_memory(&password, &stored, &mut blocks);
            let mut pool = this
                .blocks
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            pool.push(blocks);
            matches
        })
        .await
        .map_err(|_| Busy)
    }

    /// Hashes `password` off the async threads, under the bound.
    pub async fn hash(&self, password: &str) -> Result<String, String> {
        let _slot = self.slot().await.map_err(|e| e.to_string())?;
        let password = password.to_string();
        tokio::task::spawn_blocking(move || hash_password(&password).map_err(|e| e.to_string()))
            .await
            .map_err(|e| e.to_string())?
    }
}

/// [`verify_password`] with the argon2 memory given by the caller (grown when the hash needs more), so that
/// [`Hashing`] can reuse it.
fn verify_with_memory(password: &str, stored: &str, blocks: &mut Vec<Block>) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else {
        return false;
    };
    let (Ok(params), Some(salt), Some(expected)) = (Params::try_from(&hash), hash.salt, hash.hash)
    else {
        return false;
    };
    if params.m_cost() > MAX_MEMORY_KIB {
        return false;
    }
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let needed = params.block_count();
    if blocks.len() < needed {
        blocks.resize(needed, Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params);
    if argon
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut blocks[..needed])
        .is_err()
    {
        return false;
    }
    bool::from(subtle::ConstantTimeEq::ct_eq(
        out.as_slice(),
        expected.as_bytes(),
    ))
}

/// Hashes the password (under `hashing`'s bound) and stores the owner (shared by the setup form and the CLI).
pub async fn create_owner(
    db: &Db,
    hashing: &Hashing,
    owner: NewOwner,
) -> Result<User, CreateOwnerError> {
    let hash = hashing
        .hash(&owner.password)
        .await
        .map_err(|e| CreateOwnerError::Db(sqlx::Error::Protocol(format!("hashing failed: {e}"))))?;
    db::users::create_owner(db, &owner.username, &owner.display_name, &hash).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_verifies() {
        let hash = hash_password("correct horse battery").expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("wrong password!", &hash));
        assert!(!verify_password("correct horse battery", "not a hash"));
    }

    #[test]
    fn verifies_with_reused_memory() {
        let hash = hash_password("correct horse battery").expect("hash");
        let mut blocks = Vec::new();
        assert!(verify_with_memory(
            "correct horse battery",
            &hash,
            &mut blocks
        ));
        let size = blocks.len();
        assert!(size > 0);
        assert!(!verify_with_memory("wrong password!", &hash, &mut blocks));
        assert_eq!(blocks.len(), size, "the same memory is used again");
        assert!(!verify_with_memory("x", "not a hash", &mut blocks));
        assert!(!verify_with_memory(
            "x",
            "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            &mut blocks
        ));
    }

    #[test]
    fn validates_owner() {
        let mut o = NewOwner {
            username: " Alice ".into(),
            display_name: "Alice".into(),
            password: "short".into(),
        };
        let errors = o.validate();
        assert_eq!(o.username, "alice");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, "password");
    }
}
