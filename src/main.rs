//! The `exsync` binary: parses the command line and hands over to [`exsync::cli`].

/// The binary's allocator. A sync cycle allocates and frees many small strings (contact
/// fields, ids, JSON members) at once; glibc's allocator spent about a quarter of a large
/// first sync's CPU consolidating and unlinking them (benches/README.md, section 2).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    exsync::cli::main()
}
