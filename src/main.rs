//! The `exsync` binary: parses the command line and hands over to [`exsync::cli`].

fn main() -> std::process::ExitCode {
    exsync::cli::main()
}
