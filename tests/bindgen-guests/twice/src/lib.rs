//! Guest of the world `twice` (`crates/tern/tests/all/bindgen/twice.wit`),
//! which imports the interface `logger` under two names: `run` logs one
//! entry through each and returns the sum of their answers.

wit_bindgen::generate!({
    world: "twice",
    path: "../../../crates/tern/tests/all/bindgen/twice.wit",
});

struct Twice;

impl Guest for Twice {
    fn run() -> u32 {
        let first = primary::log(&primary::Entry {
            level: 1,
            text: "first".to_string(),
        });
        let second = backup::log(&backup::Entry {
            level: 2,
            text: "second".to_string(),
        });
        first + second
    }
}

export!(Twice);
