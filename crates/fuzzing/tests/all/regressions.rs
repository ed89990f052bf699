//! Every reduced module in `tests/regressions/` runs on Tern and the oracle
//! with the variant its header records, and they must agree.

use tern_fuzz::differential::{Differential, Stats};
use tern_fuzz::{reduce, with_big_stack};

#[test]
fn regression_modules_agree_with_the_oracle() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wat"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no regression modules in {}",
        dir.display()
    );
    with_big_stack(move || {
        let diff = Differential::new(4).unwrap();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let variant = reduce::variant_of(&text).unwrap_or(0);
            let wasm = wat::parse_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let mut stats = Stats::default();
            let div = diff.check(&wasm, variant, &mut stats);
            assert!(div.is_none(), "{}: {}", file.display(), div.unwrap());
            assert_eq!(
                stats.modules,
                1,
                "{}: the oracle must accept it: {stats}",
                file.display()
            );
            assert!(
                stats.executions + stats.instantiations > 0,
                "{}: nothing ran: {stats}",
                file.display()
            );
        }
    });
}
