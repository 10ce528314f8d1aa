//! The recent-files list (persisted with the app state): most recent first, no duplicates,
//! bounded.

use std::path::{Path, PathBuf};

/// How many recent files are remembered.
pub const MAX_RECENT: usize = 10;

/// Recently opened capture files, most recent first.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecentFiles {
    paths: Vec<PathBuf>,
}

impl RecentFiles {
    /// Records that `path` was opened: it moves to the front, the oldest falls off.
    pub fn push(&mut self, path: &Path) {
        self.paths.retain(|p| p != path);
        self.paths.insert(0, path.to_path_buf());
        self.paths.truncate(MAX_RECENT);
    }
    /// Forgets `path` (e.g. it no longer exists).
    pub fn remove(&mut self, path: &Path) {
        self.paths.retain(|p| p != path);
    }
    /// The remembered paths, most recent first.
    pub fn iter(&self) -> impl Iterator<Item = &Path> {
        self.paths.iter().map(PathBuf::as_path)
    }
    /// True when nothing was opened yet.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reopening_a_file_moves_it_to_the_front_without_duplicates() {
        let mut r = RecentFiles::default();
        r.push(Path::new("a.pcap"));
        r.push(Path::new("b.pcap"));
        r.push(Path::new("a.pcap"));
        let v: Vec<_> = r.iter().collect();
        assert_eq!(v, [Path::new("a.pcap"), Path::new("b.pcap")]);
    }

    #[test]
    fn the_list_is_bounded() {
        let mut r = RecentFiles::default();
        for i in 0..(MAX_RECENT + 5) {
            r.push(Path::new(&format!("{i}.pcap")));
        }
        assert_eq!(r.iter().count(), MAX_RECENT);
        assert_eq!(r.iter().next(), Some(Path::new("14.pcap")));
    }

    #[test]
    fn removed_files_are_forgotten() {
        let mut r = RecentFiles::default();
        r.push(Path::new("a.pcap"));
        r.remove(Path::new("a.pcap"));
        assert!(r.is_empty());
    }
}
