//! The translator's Spectre guards, checked on the CLIF it emits: every
//! explicit bounds check (dynamic and memory64 memories, static memories with
//! offsets beyond the guard, `table.get`, `table.set`, `call_indirect`) is
//! followed by a `select_spectre_guard` on the address, unless the matching
//! tunable is off; accesses whose check is elided get none.

mod common;

use tern_environ::{Tunables, WasmFeatures};

/// The CLIF of each defined function of `wat`, compiled with `tunables`.
fn clif(wat: &str, tunables: Tunables) -> Vec<String> {
    common::translate_to_clif(
        wat,
        WasmFeatures::default() | WasmFeatures::MEMORY64,
        tunables,
    )
    .unwrap()
}

fn guards(clif: &str) -> usize {
    clif.matches("select_spectre_guard").count()
}

/// Functions that each perform exactly one checked access when memory 0 is dynamic.
const ACCESSES: &str = r#"
(module
  (memory 1)
  (func (param i32) (result i32) (i32.load (local.get 0)))
  (func (param i32) (i64.store8 offset=7 (local.get 0) (i64.const 1)))
  (func (param i32) (result v128) (v128.load (local.get 0)))
  (func (param i32) (result f64) (f64.load offset=0x90000000 (local.get 0))))
"#;

fn dynamic_memories() -> Tunables {
    Tunables {
        static_memory_maximum_size: 0,
        ..Tunables::default()
    }
}

#[test]
fn every_checked_memory_access_is_guarded_in_dynamic_mode() {
    let funcs = clif(ACCESSES, dynamic_memories());
    assert_eq!(funcs.len(), 4);
    for f in &funcs {
        assert_eq!(guards(f), 1, "{f}");
    }
}

#[test]
fn memory64_accesses_are_guarded() {
    let funcs = clif(
        r#"(module (memory i64 1)
             (func (param i64) (result i64) (i64.load (local.get 0)))
             (func (param i64) (i32.store16 (local.get 0) (i32.const 5))))"#,
        Tunables::default(),
    );
    for f in &funcs {
        assert_eq!(guards(f), 1, "{f}");
    }
}

#[test]
fn static_memory_guards_only_the_access_it_checks() {
    // Default tunables: 4 GiB reservation + 2 GiB guard. Only the access whose
    // offset exceeds the guard needs (and gets) a check and a guard.
    let funcs = clif(ACCESSES, Tunables::default());
    let counts: Vec<usize> = funcs.iter().map(|f| guards(f)).collect();
    assert_eq!(counts, [0, 0, 0, 1]);
}

#[test]
fn heap_guards_disappear_when_switched_off() {
    let tunables = Tunables {
        heap_access_spectre_mitigation: false,
        ..dynamic_memories()
    };
    for f in clif(ACCESSES, tunables) {
        assert_eq!(guards(&f), 0, "{f}");
        // The bounds check itself stays.
        assert!(f.contains("trapnz"), "{f}");
    }
}

const TABLE_ACCESSES: &str = r#"
(module
  (type $t (func))
  (table 4 funcref)
  (func (param i32) (result funcref) (table.get 0 (local.get 0)))
  (func (param i32) (table.set 0 (local.get 0) (ref.null func)))
  (func (param i32) (call_indirect (type $t) (local.get 0)))
  (func (param i32) (return_call_indirect (type $t) (local.get 0))))
"#;

#[test]
fn every_table_index_check_is_guarded() {
    for f in clif(TABLE_ACCESSES, Tunables::default()) {
        assert_eq!(guards(&f), 1, "{f}");
    }
}

#[test]
fn table_guards_disappear_when_switched_off() {
    let tunables = Tunables {
        table_access_spectre_mitigation: false,
        ..Tunables::default()
    };
    for f in clif(TABLE_ACCESSES, tunables) {
        assert_eq!(guards(&f), 0, "{f}");
        assert!(f.contains("trapnz"), "{f}");
    }
}

#[test]
fn the_heap_switch_leaves_table_guards_alone() {
    let tunables = Tunables {
        heap_access_spectre_mitigation: false,
        ..Tunables::default()
    };
    for f in clif(TABLE_ACCESSES, tunables) {
        assert_eq!(guards(&f), 1, "{f}");
    }
}
