//! Content versions: what tells the page cache which rendered pages a committed change made stale.
//!
//! Every change to what readers see takes the next number of one sequence. A change to the blog's structure
//! (posts, pages, tags, settings, media) records that number as the structure's last change; a comment, a like or
//! a boost records it as the last change of its post and of the lists (which show counts). A page remembers the
//! sequence number read before it was rendered, and what it depends on ([`Depends`]): it is stale once something it
//! depends on changed later. So a reply makes stale the post's page and the lists, not the other posts' pages, and
//! a repeated like that stores nothing makes nothing stale (no change is recorded).
//!
//! A commenter's avatar copied to this host changes every post page that shows their comments and no list: it is
//! recorded as a change of all post pages.
//!
//! The numbers are this process's own. On PostgreSQL every change is also announced with `NOTIFY steppe_content`
//! (payload: the sender's token, then nothing for structure, `post:ID` for a post, `posts` for all post pages), and
//! each process records what others announce as a change of its own (see `Db::follow_changes`); its own, recorded
//! when they committed, it skips.

use std::{
    collections::HashMap,
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
};

/// What a cached page shows, and so which changes make it stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Depends {
    /// Anything: every change makes it stale (the default for pages that name nothing finer).
    Everything,
    /// The blog's structure only (posts, tags, settings), not comments or reactions: feeds, static pages.
    Structure,
    /// The structure and one post's comments and reactions: the post's page, its Article and collections.
    Post(String),
    /// The structure and the counts lists show (comments on any post): the home, tag and archive pages. A change
    /// of counts may be shown late by at most `cache.list_delay_ms` (see the page cache).
    Lists,
}

/// The sequence and the last change of each thing pages depend on.
#[derive(Debug, Default)]
pub struct Versions {
    /// The number of the latest change of any kind.
    sequence: AtomicU64,
    /// The number of the latest structure change.
    structure: AtomicU64,
    /// The number of the latest change to counts that lists show.
    lists: AtomicU64,
    /// The number of the latest change to every post page at once, not to lists (a commenter's avatar copied).
    all_posts: AtomicU64,
    /// Per post id, the number of the latest change to its comments or reactions. One entry per post that changed
    /// since the process started (never evicted: a forgotten entry would make old pages look fresh).
    posts: Mutex<HashMap<String, u64>>,
}

impl Versions {
    /// The number of the latest change: a page rendered now depends on nothing later.
    pub fn current(&self) -> u64 {
        self.sequence.load(Ordering::Acquire)
    }

    fn next(&self) -> u64 {
        self.sequence
            .fetch_add(1, Ordering::AcqRel)
            .saturating_add(1)
    }

    /// Records a change of the structure (which every page shows); returns its number.
    pub fn structure_changed(&self) -> u64 {
        let n = self.next();
        self.structure.fetch_max(n, Ordering::AcqRel);
        n
    }

    /// Records a change to the comments or reactions of `post_id` (which its page and the lists show).
    pub fn post_changed(&self, post_id: &str) -> u64 {
        let n = self.next();
        {
            let mut posts = self.posts.lock().unwrap_or_else(PoisonError::into_inner);
            let last = posts.entry(post_id.to_string()).or_insert(n);
            *last = (*last).max(n);
        }
        self.lists.fetch_max(n, Ordering::AcqRel);
        n
    }

    /// Records a change that every post's page may show and no list does (a commenter's avatar was copied).
    pub fn all_posts_changed(&self) -> u64 {
        let n = self.next();
        self.all_posts.fetch_max(n, Ordering::AcqRel);
        n
    }

    /// The number of the latest structure change.
    pub fn structure(&self) -> u64 {
        self.structure.load(Ordering::Acquire)
    }

    /// The number of the latest change of what `depends` names (and so the version a page of it shows).
    pub fn last_change(&self, depends: &Depends) -> u64 {
        match depends {
            Depends::Everything => self.current(),
            Depends::Structure => self.structure(),
            Depends::Post(id) => {
                let post = self
                    .posts
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get(id)
                    .copied()
                    .unwrap_or(0);
                self.structure()
                    .max(post)
                    .max(self.all_posts.load(Ordering::Acquire))
            }
            Depends::Lists => self.structure().max(self.lists.load(Ordering::Acquire)),
        }
    }

    /// Whether a page rendered after change number `rendered_after` (read before rendering) still shows what
    /// `depends` names as it is now.
    pub fn unchanged_since(&self, depends: &Depends, rendered_after: u64) -> bool {
        self.last_change(depends) <= rendered_after
    }

    /// Whether only the counts lists show changed since `rendered_after` (not the structure): what lists may
    /// show late, within the owner's bound.
    pub fn only_counts_changed(&self, rendered_after: u64) -> bool {
        self.structure() <= rendered_after
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_makes_stale_only_what_shows_it() {
        let v = Versions::default();
        let a = Depends::Post("a".into());
        let b = Depends::Post("b".into());
        let every = [
            &Depends::Everything,
            &Depends::Structure,
            &a,
            &b,
            &Depends::Lists,
        ];
        let rendered = v.current();
        for d in every {
            assert!(
                v.unchanged_since(d, rendered),
                "{d:?} fresh before any change"
            );
        }
        v.post_changed("a");
        assert!(!v.unchanged_since(&a, rendered), "its own post");
        assert!(
            !v.unchanged_since(&Depends::Lists, rendered),
            "the lists' counts"
        );
        assert!(!v.unchanged_since(&Depends::Everything, rendered));
        assert!(v.unchanged_since(&b, rendered), "another post stays fresh");
        assert!(
            v.unchanged_since(&Depends::Structure, rendered),
            "feeds stay fresh"
        );
        assert!(v.only_counts_changed(rendered));
        // A page rendered after the change is fresh again.
        let later = v.current();
        assert!(v.unchanged_since(&a, later));
        // A structure change makes everything stale.
        v.structure_changed();
        for d in every {
            assert!(
                !v.unchanged_since(d, later),
                "{d:?} stale after a structure change"
            );
        }
        assert!(!v.only_counts_changed(later));
        // An avatar copied: every post page, no list.
        let before = v.current();
        v.all_posts_changed();
        assert!(!v.unchanged_since(&a, before) && !v.unchanged_since(&b, before));
        assert!(v.unchanged_since(&Depends::Lists, before));
        assert!(v.unchanged_since(&Depends::Structure, before));
    }
}
