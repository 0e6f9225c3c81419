//! SQL for archives: the tables a blog's archive holds (in an order that puts every row after the rows it refers
//! to), read as rows of named values, and written back into either engine with the destination's own column types.

use futures_util::{Stream, StreamExt};
use serde_json::{Map, Value};
use sqlx::{Any, Column, Row, Transaction};

use super::{Backend, Db};

/// One table of the archive.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub name: &'static str,
    /// The query that reads it, in an order that restores (a reply after the comment it answers).
    select: &'static str,
    /// Columns the destination assigns itself (a serial id), left out when restoring.
    generated: &'static [&'static str],
    /// Whether the rows are secret (the key pair, the owner's password hash).
    pub secret: bool,
}

const fn table(name: &'static str, select: &'static str) -> Table {
    Table {
        name,
        select,
        generated: &[],
        secret: false,
    }
}

/// What an archive holds, parents first. Left out: sessions, queues (outbox, deliveries, inbox replay), what was
/// learned about other servers (their health, the signatures they accept), caches that refill themselves (copied
/// avatars, the search index, which a restore rebuilds).
pub const ARCHIVED: &[Table] = &[
    Table {
        secret: true,
        ..table("users", "SELECT * FROM users ORDER BY id")
    },
    table("media", "SELECT * FROM media ORDER BY id"),
    table("posts", "SELECT * FROM posts ORDER BY id"),
    table(
        "post_old_slugs",
        "SELECT * FROM post_old_slugs ORDER BY slug",
    ),
    table("tags", "SELECT * FROM tags ORDER BY slug"),
    table(
        "post_tags",
        "SELECT * FROM post_tags ORDER BY post_id, tag_slug",
    ),
    table(
        "post_media",
        "SELECT * FROM post_media ORDER BY post_id, media_id",
    ),
    // Threads: every comment after its parent.
    table(
        "comments",
        "WITH RECURSIVE tree (tree_id, depth) AS ( \
           SELECT id, 0 FROM comments WHERE parent_id IS NULL \
           UNION ALL SELECT c.id, t.depth + 1 FROM comments c JOIN tree t ON c.parent_id = t.tree_id) \
         SELECT comments.* FROM comments JOIN tree ON tree.tree_id = comments.id ORDER BY tree.depth, comments.id",
    ),
    table("reactions", "SELECT * FROM reactions ORDER BY activity_id"),
    table("followers", "SELECT * FROM followers ORDER BY actor_id"),
    table("blocks", "SELECT * FROM blocks ORDER BY kind, value"),
    table("site_settings", "SELECT * FROM site_settings ORDER BY key"),
    Table {
        secret: true,
        ..table("actor_keys", "SELECT * FROM actor_keys ORDER BY actor")
    },
    table(
        "article_tombstones",
        "SELECT * FROM article_tombstones ORDER BY article_id",
    ),
    table("post_revisions", "SELECT * FROM post_revisions ORDER BY id"),
    Table {
        generated: &["id"],
        ..table("notifications", "SELECT * FROM notifications ORDER BY id")
    },
    table("remote_actors", "SELECT * FROM remote_actors ORDER BY id"),
    table(
        "import_posts",
        "SELECT * FROM import_posts ORDER BY site, wp_id",
    ),
    table(
        "import_comments",
        "SELECT * FROM import_comments ORDER BY site, wp_id",
    ),
    table(
        "old_addresses",
        "SELECT * FROM old_addresses ORDER BY address",
    ),
    table(
        "import_media",
        "SELECT * FROM import_media ORDER BY site, source",
    ),
];

/// The archived table called `name`.
pub fn archived(name: &str) -> Option<&'static Table> {
    ARCHIVED.iter().find(|t| t.name == name)
}

/// A value of a row as JSON: integers as numbers, text as strings, NULL as null (the schema has no other types).
fn value(row: &sqlx::any::AnyRow, i: usize) -> Result<Value, sqlx::Error> {
    if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
        return Ok(v.map_or(Value::Null, Value::from));
    }
    if let Ok(v) = row.try_get::<Option<String>, _>(i) {
        return Ok(v.map_or(Value::Null, Value::from));
    }
    let v: Option<f64> = row.try_get(i)?;
    Ok(v.map_or(Value::Null, Value::from))
}

/// The rows of `table`, one at a time (a cursor, not the whole table in memory).
pub fn rows<'a>(
    db: &'a Db,
    table: &'a Table,
) -> impl Stream<Item = Result<Map<String, Value>, sqlx::Error>> + 'a {
    sqlx::query(table.select).fetch(&db.pool).map(|row| {
        let row = row?;
        let mut out = Map::new();
        for (i, column) in row.columns().iter().enumerate() {
            if column.name() == "tree_id" || column.name() == "depth" {
                continue;
            }
            out.insert(column.name().to_string(), value(&row, i)?);
        }
        Ok(out)
    })
}

/// How many rows `table` has.
pub async fn count(db: &Db, table: &Table) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", table.name))
        .fetch_one(&db.pool)
        .await
}

/// A column of the destination: its name and whether it holds integers.
#[derive(Debug, Clone)]
pub struct ColumnType {
    pub name: String,
    pub integer: bool,
}

/// The columns of `table` in this database, with their types.
pub async fn columns(
    db: &Db,
    tx: &mut Transaction<'static, Any>,
    table: &str,
) -> Result<Vec<ColumnType>, sqlx::Error> {
    let rows: Vec<(String, String)> = match db.backend {
        Backend::Sqlite => {
            sqlx::query_as("SELECT name, type FROM pragma_table_info($1)")
                .bind(table)
                .fetch_all(&mut **tx)
                .await?
        }
        Backend::Postgres => {
            sqlx::query_as(
                "SELECT column_name::text, data_type::text FROM information_schema.columns \
                 WHERE table_name = $1 AND table_schema = current_schema() ORDER BY ordinal_position",
            )
            .bind(table)
            .fetch_all(&mut **tx)
            .await?
        }
    };
    Ok(rows
        .into_iter()
        .map(|(name, kind)| ColumnType {
            name,
            integer: kind.to_ascii_lowercase().contains("int"),
        })
        .collect())
}

/// Why a row could not be restored.
#[derive(Debug, thiserror::Error)]
pub enum RowError {
    #[error("{table}: the value of {column} is not of its type")]
    Type { table: String, column: String },
    #[error("{table}: a row names no column this version has")]
    Empty { table: String },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Inserts `row` into `table`, whose destination columns are `columns`: values of columns the destination lacks
/// are ignored (an archive from an older version), missing ones take their defaults, generated ones are assigned
/// anew. With `skip_existing`, a row whose key exists already is left as it is; returns whether it was inserted.
pub async fn insert(
    tx: &mut Transaction<'static, Any>,
    table: &Table,
    columns: &[ColumnType],
    row: &Map<String, Value>,
    skip_existing: bool,
) -> Result<bool, RowError> {
    let used: Vec<&ColumnType> = columns
        .iter()
        .filter(|c| row.contains_key(&c.name) && !table.generated.contains(&c.name.as_str()))
        .collect();
    if used.is_empty() {
        return Err(RowError::Empty {
            table: table.name.to_string(),
        });
    }
    let names: Vec<&str> = used.iter().map(|c| c.name.as_str()).collect();
    let placeholders: Vec<String> = (1..=used.len()).map(|n| format!("${n}")).collect();
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({}){}",
        table.name,
        names.join(", "),
        placeholders.join(", "),
        if skip_existing {
            " ON CONFLICT DO NOTHING"
        } else {
            ""
        }
    );
    let mut query = sqlx::query(&sql);
    for c in &used {
        let bad = || RowError::Type {
            table: table.name.to_string(),
            column: c.name.clone(),
        };
        query = match (row.get(&c.name), c.integer) {
            (None | Some(Value::Null), true) => query.bind(None::<i64>),
            (None | Some(Value::Null), false) => query.bind(None::<String>),
            (Some(Value::Number(n)), true) => query.bind(n.as_i64().ok_or_else(bad)?),
            (Some(Value::String(s)), false) => query.bind(s.clone()),
            _ => return Err(bad()),
        };
    }
    Ok(query.execute(&mut **tx).await?.rows_affected() > 0)
}

/// Whether nothing of a blog is here yet: no owner, post, comment, follower or media (a started install has its key
/// and perhaps settings; those an archive replaces).
pub async fn holds_a_blog(db: &Db) -> Result<bool, sqlx::Error> {
    for name in ["users", "posts", "comments", "followers", "media"] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {name}"))
            .fetch_one(&db.pool)
            .await?;
        if n > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}
