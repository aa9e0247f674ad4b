//! `exsync serve --help` lists every environment variable the README documents, with the
//! same defaults: both come from one table (`exsync::config::SETTINGS`), and this test
//! runs the real binary to prove the README did not drift from it.

use std::process::Command;

/// (variable, default) of each row of the README's configuration table.
fn readme_variables() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    readme
        .lines()
        .filter(|line| line.starts_with("| `EXSYNC_"))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            (
                cells[1].trim_matches('`').to_owned(),
                cells[2].trim_matches('`').to_owned(),
            )
        })
        .collect()
}

/// (variable, default) of each variable `serve --help` lists.
fn help_variables(help: &str) -> Vec<(String, String)> {
    help.lines()
        .filter_map(|line| line.strip_prefix("  EXSYNC_"))
        .map(|rest| {
            let name = rest.split_whitespace().next().unwrap_or_default();
            let default = rest
                .rsplit_once("[default: ")
                .map(|(_, d)| d.trim_end_matches(']'))
                .unwrap_or_default();
            (format!("EXSYNC_{name}"), default.to_owned())
        })
        .collect()
}

#[test]
fn serve_help_lists_every_variable_the_readme_documents() {
    let output = Command::new(env!("CARGO_BIN_EXE_exsync"))
        .args(["serve", "--help"])
        .output()
        .expect("exsync runs");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    let listed = help_variables(&help);
    let documented = readme_variables();
    assert_eq!(
        documented.len(),
        exsync::config::SETTINGS.len(),
        "{documented:#?}"
    );
    assert_eq!(listed, documented, "serve --help:\n{help}");
    // `-h` shows them too.
    let short = Command::new(env!("CARGO_BIN_EXE_exsync"))
        .args(["serve", "-h"])
        .output()
        .expect("exsync runs");
    assert_eq!(
        help_variables(&String::from_utf8_lossy(&short.stdout)),
        listed
    );
}

#[test]
fn the_loader_accepts_exactly_the_listed_keys() {
    let keys: Vec<&str> = exsync::config::SETTINGS.iter().map(|s| s.key).collect();
    assert_eq!(keys, exsync::config::KEYS);
    for setting in exsync::config::SETTINGS {
        assert_eq!(
            setting.variable(),
            format!("EXSYNC_{}", setting.key.to_uppercase())
        );
    }
}
