//! Shell completions and the man page come from the clap definition.

use crate::common::run;

#[test]
fn completions_for_bash_zsh_fish_name_the_subcommands() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, _) = run(&["completions", shell]);
        assert_eq!(code, 0, "{shell}");
        for sub in ["read", "check", "export"] {
            assert!(out.contains(sub), "{shell} lacks {sub}");
        }
    }
}

#[test]
fn man_page_is_roff_with_every_subcommand() {
    let (code, out, _) = run(&["man"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with(".ie") || out.contains(".TH mqscope"),
        "{}",
        &out[..out.len().min(200)]
    );
    for sub in ["MQSCOPE-READ", "MQSCOPE-CHECK", "MQSCOPE-EXPORT"] {
        assert!(out.contains(&format!(".TH {sub}")), "{sub}");
    }
    assert!(out.contains("fail\\-on"), "check's options are documented");
}
