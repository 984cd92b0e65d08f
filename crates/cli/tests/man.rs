//! `coffer man --dir DIR` writes `coffer.1` and a page for every command it refers to.

use assert_cmd::Command;

#[test]
fn man_dir_writes_every_page_the_top_page_refers_to() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("man1");
    Command::new(env!("CARGO_BIN_EXE_coffer"))
        .arg("man")
        .arg("--dir")
        .arg(&out)
        .assert()
        .success();
    let top = std::fs::read_to_string(out.join("coffer.1")).expect("coffer.1");
    let referenced: Vec<String> = top
        .split("coffer\\-")
        .skip(1)
        .filter_map(|rest| {
            rest.split_once("(1)")
                .map(|(name, _)| name.replace("\\-", "-"))
        })
        .filter(|name| name.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        .collect();
    assert!(referenced.iter().any(|n| n == "plan"), "{referenced:?}");
    for name in &referenced {
        let page = std::fs::read_to_string(out.join(format!("coffer-{name}.1")))
            .unwrap_or_else(|_| panic!("coffer.1 refers to coffer-{name}(1), which is missing"));
        assert!(page.contains(&format!(".TH coffer-{name} 1")), "{name}");
    }
    assert!(!out.join("coffer-help.1").exists());
    assert!(!top.contains("coffer\\-help(1)"), "no page for `help`");
}
