//! The `exsync` binary: parses the command line and hands over to [`exsync::cli`].

/// mimalloc instead of the system allocator: a sync cycle allocates and frees millions of
/// small values across threads, where glibc's arenas spend more time than the work itself
/// (consolidating, trimming, and faulting fresh pages back in).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    exsync::cli::main()
}
