//! The owner account: validated setup input, argon2id password hashing, and creating the owner (for the setup
//! form and the command line alike).

use crate::db::{
    self, Db,
    users::{CreateOwnerError, User},
};
use argon2::{
    Argon2,
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng},
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
        if self.password.chars().count() < MIN_PASSWORD_CHARS {
            errors.push((
                "password",
                format!("Password: at least {MIN_PASSWORD_CHARS} characters."),
            ));
        } else if self.password.len() > 1024 {
            errors.push(("password", "Password: at most 1024 bytes.".to_string()));
        }
        errors
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
    let Ok(hash) = PasswordHash::new(stored) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &hash)
        .is_ok()
}

/// Hashes the password off the async threads and stores the owner (shared by the setup form and the CLI).
pub async fn create_owner(db: &Db, owner: NewOwner) -> Result<User, CreateOwnerError> {
    let password = owner.password;
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| {
            CreateOwnerError::Db(sqlx::Error::Protocol(format!("hashing task failed: {e}")))
        })?
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
