//! What the README promises about decoding is what the code's own docs say.
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// The rows of the markdown table that follows `heading_line` in `text`.
fn table_after<'a>(text: &'a str, heading_line: &str) -> Vec<&'a str> {
    let start = text.find(heading_line).expect("the table's heading") + heading_line.len();
    text[start..]
        .lines()
        .map(|line| line.trim_start_matches("//!").trim())
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .collect()
}

#[test]
fn the_readme_states_the_decoding_rules_the_model_docs_state() {
    let readme = include_str!("../../README.md");
    let model = include_str!("../../core/src/model/mod.rs");
    let in_readme = table_after(readme, "## Decoding rules");
    let in_model = table_after(model, "The rules, field by field:");
    assert!(in_model.len() > 5, "{in_model:?}");
    assert_eq!(in_readme, in_model, "update the README's decoding rules");
}

#[test]
fn every_example_the_readme_lists_exists() {
    let readme = include_str!("../../README.md");
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/examples");
    let listed: Vec<&str> = readme
        .split("--example ")
        .skip(1)
        .filter_map(|rest| {
            rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
        })
        .collect();
    assert!(listed.len() >= 4, "{listed:?}");
    for name in listed {
        assert!(
            examples.join(format!("{name}.rs")).is_file(),
            "the README lists an example that does not exist: {name}"
        );
    }
}
