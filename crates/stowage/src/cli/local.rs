//! Local trees, walked in B2's name order: the byte order of paths relative to the root, `/`-separated.
//! A sync merges such a walk with a bucket listing (which comes in that order) without holding either.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// One entry of a directory: its name, and whether it is a directory (then its paths sort as `name/...`).
struct Entry {
    sort_key: String,
    path: PathBuf,
    relative: String,
    is_dir: bool,
}

/// The regular files under a root, lazily, in B2's name order: each directory is read when the walk
/// reaches it, so memory holds the directories along one path, not the tree.
pub(super) struct LocalWalk {
    /// Entries still to visit, one list per open directory (each sorted, last first).
    open: Vec<Vec<Entry>>,
}

impl LocalWalk {
    /// A walk of `root` (nothing if it does not exist).
    pub(super) fn new(root: &Path) -> anyhow::Result<Self> {
        let open = if root.exists() { vec![read_sorted(root, "")?] } else { Vec::new() };
        Ok(LocalWalk { open })
    }
}

/// A directory's files and subdirectories, sorted so that visiting them in turn (descending into each
/// subdirectory) yields whole relative paths in byte order: a directory sorts as its name followed by `/`.
fn read_sorted(dir: &Path, relative: &str) -> anyhow::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let kind = entry.file_type()?;
        // Symbolic links and special files are not followed or copied.
        if !kind.is_dir() && !kind.is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().to_string();
        let relative = format!("{relative}{name}");
        let sort_key = if kind.is_dir() { format!("{name}/") } else { name };
        entries.push(Entry { sort_key, path: entry.path(), relative, is_dir: kind.is_dir() });
    }
    // Last first: the walk pops from the end.
    entries.sort_by(|a, b| b.sort_key.as_bytes().cmp(a.sort_key.as_bytes()));
    Ok(entries)
}

impl Iterator for LocalWalk {
    /// A file's path and its path relative to the root.
    type Item = anyhow::Result<(PathBuf, String)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let top = self.open.last_mut()?;
            let Some(entry) = top.pop() else {
                self.open.pop();
                continue;
            };
            if !entry.is_dir {
                return Some(Ok((entry.path, entry.relative)));
            }
            match read_sorted(&entry.path, &format!("{}/", entry.relative)) {
                Ok(children) => self.open.push(children),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_walk_comes_in_the_byte_order_of_whole_paths() {
        let dir = tempfile::tempdir().expect("tempdir");
        // '-' (0x2d) < '/' (0x2f) < '0' (0x30): "a-b" < "a/..." < "a0", whatever the directory order.
        for path in ["a/x", "a/y/z", "a-b", "a0", "b", "a/y-", "c/d/e/f", "A"] {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
            std::fs::write(&full, path).expect("write");
        }
        std::fs::create_dir_all(dir.path().join("empty/inside")).expect("mkdir");
        let walked: Vec<String> = LocalWalk::new(dir.path()).expect("walk").map(|e| e.expect("entry").1).collect();
        let mut sorted = walked.clone();
        sorted.sort();
        assert_eq!(walked, sorted);
        assert_eq!(walked, ["A", "a-b", "a/x", "a/y-", "a/y/z", "a0", "b", "c/d/e/f"]);
        assert_eq!(LocalWalk::new(&dir.path().join("missing")).expect("walk").count(), 0);
    }
}
