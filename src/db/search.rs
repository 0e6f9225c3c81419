//! Full-text search over published posts and pages: one index row per post (`post_search`), rewritten in the
//! transaction of every save, and one query per engine (FTS5 with Porter stemming on SQLite, an `english` tsvector
//! on PostgreSQL). Both get the same words from [`terms`], so a query finds the same posts on either.

use sqlx::{AnyConnection, FromRow};

use super::{
    Backend, Db,
    posts::{Post, Tx},
};

/// The words searched for, at most this many (the rest of a long query is ignored).
const MAX_TERMS: usize = 12;
/// Longer "words" are cut (no real word is this long; the index would not hold it anyway).
const MAX_TERM_CHARS: usize = 64;

/// PostgreSQL's `english` stop words (its `english.stop`, the Snowball list). They are dropped from queries on both
/// engines: PostgreSQL ignores them, and FTS5 (which indexes every word) would otherwise demand them.
const STOP_WORDS: &[&str] = &[
    "i",
    "me",
    "my",
    "myself",
    "we",
    "our",
    "ours",
    "ourselves",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
    "he",
    "him",
    "his",
    "himself",
    "she",
    "her",
    "hers",
    "herself",
    "it",
    "its",
    "itself",
    "they",
    "them",
    "their",
    "theirs",
    "themselves",
    "what",
    "which",
    "who",
    "whom",
    "this",
    "that",
    "these",
    "those",
    "am",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "have",
    "has",
    "had",
    "having",
    "do",
    "does",
    "did",
    "doing",
    "a",
    "an",
    "the",
    "and",
    "but",
    "if",
    "or",
    "because",
    "as",
    "until",
    "while",
    "of",
    "at",
    "by",
    "for",
    "with",
    "about",
    "against",
    "between",
    "into",
    "through",
    "during",
    "before",
    "after",
    "above",
    "below",
    "to",
    "from",
    "up",
    "down",
    "in",
    "out",
    "on",
    "off",
    "over",
    "under",
    "again",
    "further",
    "then",
    "once",
    "here",
    "there",
    "when",
    "where",
    "why",
    "how",
    "all",
    "any",
    "both",
    "each",
    "few",
    "more",
    "most",
    "other",
    "some",
    "such",
    "no",
    "nor",
    "not",
    "only",
    "own",
    "same",
    "so",
    "than",
    "too",
    "very",
    "s",
    "t",
    "can",
    "will",
    "just",
    "don",
    "should",
    "now",
];

/// The words of a reader's query: runs of letters and digits, lowercased, stop words and repeats dropped, at most
/// [`MAX_TERMS`]. Quotes, operators and FTS syntax are only separators, so nothing a reader types is syntax.
pub fn terms(query: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for word in query.split(|c: char| !c.is_alphanumeric()) {
        if terms.len() == MAX_TERMS {
            break;
        }
        if word.is_empty() {
            continue;
        }
        let word: String = word.to_lowercase().chars().take(MAX_TERM_CHARS).collect();
        if !STOP_WORDS.contains(&word.as_str()) && !terms.contains(&word) {
            terms.push(word);
        }
    }
    terms
}

/// Marks around the matched words in [`Hit::excerpt`] (characters no post text contains: the excerpt is escaped
/// for HTML first, then the marks become `<mark>`).
pub const MARK_START: char = '\u{1}';
pub const MARK_END: char = '\u{2}';

/// One found post: its list columns and the passage of its text that matched, with the matches between
/// [`MARK_START`] and [`MARK_END`].
#[derive(Debug, FromRow)]
pub struct Hit {
    #[sqlx(flatten)]
    pub post: Post,
    pub excerpt: String,
}

fn is_postgres(conn: &AnyConnection) -> bool {
    conn.backend_name().eq_ignore_ascii_case("postgresql")
}

/// Rewrites the index row of post `id` from what `tx` holds now (call after the post and its tags are saved).
pub async fn index_in(tx: &mut Tx, id: &str) -> Result<(), sqlx::Error> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT title, body_markdown FROM posts WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    let Some((title, markdown)) = row else {
        return remove_in(tx, id).await;
    };
    let tags: Vec<String> = sqlx::query_scalar(
        "SELECT t.name FROM post_tags pt JOIN tags t ON t.slug = pt.tag_slug WHERE pt.post_id = $1 \
         ORDER BY pt.position",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    write_entry(tx, id, &title, &markdown, &tags.join(" "), false).await
}

/// Writes the index row of a post just saved in `tx` from the values saved (`new`: it has no row yet), without
/// reading them back.
pub async fn index_post_in(
    tx: &mut Tx,
    id: &str,
    post: &crate::domain::posts::ValidPost,
    new: bool,
) -> Result<(), sqlx::Error> {
    let tags: Vec<&str> = post.tags.iter().map(|t| t.name.as_str()).collect();
    write_entry(
        tx,
        id,
        &post.title,
        &post.body_markdown,
        &tags.join(" "),
        new,
    )
    .await
}

async fn write_entry(
    tx: &mut Tx,
    id: &str,
    title: &str,
    markdown: &str,
    tags: &str,
    new: bool,
) -> Result<(), sqlx::Error> {
    let postgres = is_postgres(tx);
    if !new {
        if postgres {
            remove_in(tx, id).await?;
        } else {
            remove_sqlite_entry(tx, id).await?;
        }
    }
    let body = crate::domain::content::plain_text(markdown);
    let sql = if postgres {
        "INSERT INTO post_search (post_id, title, body, tags, document) VALUES ($1, $2, $3, $4, \
         setweight(to_tsvector('english', $2), 'A') || setweight(to_tsvector('english', $4), 'B') \
         || setweight(to_tsvector('english', $3), 'C'))"
    } else {
        "INSERT INTO post_search (post_id, title, body, tags) VALUES ($1, $2, $3, $4)"
    };
    sqlx::query(sql)
        .bind(id)
        .bind(title)
        .bind(&body)
        .bind(tags)
        .execute(&mut **tx)
        .await?;
    if !postgres {
        sqlx::query(
            "INSERT OR REPLACE INTO post_search_rows (post_id, search_rowid) VALUES ($1, last_insert_rowid())",
        )
        .bind(id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// SQLite: removes the FTS5 entry of post `id`, found by its rowid (`post_search.post_id` is not indexed).
async fn remove_sqlite_entry(tx: &mut Tx, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM post_search WHERE rowid = (SELECT search_rowid FROM post_search_rows WHERE post_id = $1)",
    )
    .bind(id)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

async fn forget_sqlite_row(tx: &mut Tx, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM post_search_rows WHERE post_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Drops the index row of post `id` (before the post is deleted).
pub async fn remove_in(tx: &mut Tx, id: &str) -> Result<(), sqlx::Error> {
    if !is_postgres(tx) {
        remove_sqlite_entry(tx, id).await?;
        return forget_sqlite_row(tx, id).await;
    }
    sqlx::query("DELETE FROM post_search WHERE post_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Indexes the posts that have no index row (those saved before search existed, or written by other means); returns
/// how many. Run when the server starts.
pub async fn reindex_missing(db: &Db) -> Result<usize, sqlx::Error> {
    let missing: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM posts WHERE id NOT IN (SELECT post_id FROM post_search)",
    )
    .fetch_all(&db.pool)
    .await?;
    for chunk in missing.chunks(200) {
        let mut tx = db.begin_write().await?;
        for id in chunk {
            index_in(&mut tx, id).await?;
        }
        tx.commit().await?;
    }
    Ok(missing.len())
}

/// Published posts and pages that contain every one of `terms`, best first, with the passage that matched, and
/// how many there are in all. No terms: nothing found.
pub async fn search(
    db: &Db,
    terms: &[String],
    limit: i64,
    offset: i64,
) -> Result<(Vec<Hit>, i64), sqlx::Error> {
    if terms.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let columns = super::posts::LIST_COLUMNS;
    let joins = super::posts::POST_JOINS;
    let visible = "p.status = 'published'";
    let (query, count_sql, sql) = match db.backend {
        Backend::Sqlite => (
            // Each word a quoted FTS5 string (the words hold no quotes): all must be present.
            terms
                .iter()
                .map(|t| format!("\"{t}\""))
                .collect::<Vec<_>>()
                .join(" "),
            format!(
                "SELECT COUNT(*) FROM post_search s JOIN posts p ON p.id = s.post_id \
                 WHERE post_search MATCH $1 AND {visible}"
            ),
            format!(
                "SELECT {columns}, snippet(post_search, 2, char(1), char(2), '…', 30) AS excerpt \
                 FROM post_search s JOIN posts p ON p.id = s.post_id {joins} \
                 WHERE post_search MATCH $1 AND {visible} \
                 ORDER BY bm25(post_search, 0.0, 10.0, 1.0, 5.0), p.published_at DESC, p.id \
                 LIMIT $2 OFFSET $3"
            ),
        ),
        Backend::Postgres => (
            terms.join(" "),
            format!(
                "SELECT COUNT(*) FROM post_search s JOIN posts p ON p.id = s.post_id \
                 WHERE s.document @@ websearch_to_tsquery('english', $1) AND {visible}"
            ),
            // The passages are made for the page's rows only (ts_headline reads the whole text).
            format!(
                "SELECT {columns}, ts_headline('english', s.body, websearch_to_tsquery('english', $1), \
                 'StartSel=' || chr(1) || ', StopSel=' || chr(2) || ', MaxWords=30, MinWords=15, \
                 MaxFragments=2, FragmentDelimiter=\" … \"') AS excerpt \
                 FROM (SELECT s.post_id, ts_rank_cd(s.document, websearch_to_tsquery('english', $1)) AS rank \
                       FROM post_search s JOIN posts p ON p.id = s.post_id \
                       WHERE s.document @@ websearch_to_tsquery('english', $1) AND {visible} \
                       ORDER BY rank DESC, p.published_at DESC, p.id LIMIT $2 OFFSET $3) found \
                 JOIN post_search s ON s.post_id = found.post_id \
                 JOIN posts p ON p.id = found.post_id {joins} \
                 ORDER BY found.rank DESC, p.published_at DESC, p.id"
            ),
        ),
    };
    let total: i64 = sqlx::query_scalar(&count_sql)
        .bind(&query)
        .fetch_one(&db.pool)
        .await?;
    if total == 0 {
        return Ok((Vec::new(), 0));
    }
    let mut conn = db.pool.acquire().await?;
    let mut hits: Vec<Hit> = sqlx::query_as(&sql)
        .bind(&query)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    let mut posts: Vec<Post> = hits
        .iter_mut()
        .map(|h| std::mem::take(&mut h.post))
        .collect();
    super::posts::attach_tags_and_images(&mut conn, &mut posts).await?;
    for (hit, post) in hits.iter_mut().zip(posts) {
        hit.post = post;
    }
    Ok((hits, total))
}

/// `excerpt` (plain text with the marks of [`Hit::excerpt`]) as HTML: escaped, the matches in `<mark>`.
pub fn excerpt_html(excerpt: &str) -> String {
    crate::domain::content::escape_html(excerpt)
        .replace(MARK_START, "<mark>")
        .replace(MARK_END, "</mark>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_words_only() {
        assert_eq!(terms("The NGOs of Kenya"), ["ngos", "kenya"]);
        assert_eq!(
            terms("\"unclosed AND OR NOT ngo* -x NEAR(a b)"),
            ["unclosed", "ngo", "x", "near", "b"]
        );
        assert!(terms("").is_empty());
        assert!(terms("\"\" ** () :").is_empty());
        assert_eq!(terms(&"word ".repeat(2000)), ["word"]);
        assert_eq!(
            terms("a1 b2 c3 d4 e5 f6 g7 h8 i9 j10 k11 l12 m13 n14").len(),
            12
        );
        assert_eq!(terms("Ärzte ohne Grenzen"), ["ärzte", "ohne", "grenzen"]);
    }

    #[test]
    fn excerpts_are_escaped_and_marked() {
        assert_eq!(
            excerpt_html("a <b> \u{1}ngo\u{2} & c"),
            "a &lt;b&gt; <mark>ngo</mark> &amp; c"
        );
    }
}
