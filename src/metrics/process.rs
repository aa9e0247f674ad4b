//! Figures of the process itself, read when scraped.

/// The resident memory of this process in bytes: `VmRSS` of `/proc/self/status` (in
/// kibibytes, so no page size is needed). `None` where `/proc` does not exist.
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_rss(&status)
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_rss_is_read_in_kibibytes() {
        let status = "Name:\texsync\nVmPeak:\t  900 kB\nVmRSS:\t   1234 kB\nThreads:\t9\n";
        assert_eq!(parse_vm_rss(status), Some(1234 * 1024));
        assert_eq!(parse_vm_rss("Name:\texsync\n"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_some_resident_memory() {
        assert!(resident_bytes().is_some_and(|b| b > 0));
    }
}
