//! Any status, headers and body through every operation's parser and every
//! call's machine: typed results, short quotes, no panic.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(answer) = leap0_fuzz::response(&mut u) else {
        return;
    };
    leap0_fuzz::check_all_parsers(&answer);
    leap0_fuzz::check_all_machines(&answer);
});
