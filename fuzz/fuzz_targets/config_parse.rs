//! Fuzz target: configuration parsing and validation (`config::parse_str`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Validation only: no password source is resolved and nothing is run here.
    match candor::config::parse_str(text, std::path::Path::new("fuzz.toml"), data.len() % 2 == 0) {
        Ok(_) => {}
        Err(errors) => {
            // Every refusal explains itself: at least one problem, each on a real line.
            assert!(!errors.problems.is_empty(), "refused without a problem");
            let lines = text.lines().count().max(1);
            for problem in &errors.problems {
                assert!(
                    problem.line >= 1 && problem.line <= lines + 1,
                    "problem on line {} of {lines}",
                    problem.line
                );
            }
        }
    }
});
