//! Which functions of a module can let an exception escape, so that a direct
//! call to one that cannot needs no pending-exception check after it (see
//! `translate/exceptions.rs` for the check).
//!
//! A defined function *may throw* when its body contains `throw`,
//! `throw_ref`, `rethrow` or `delegate` (legacy), a call to an imported
//! function, or a call whose target is not known here (`call_indirect`,
//! `call_ref`, and their `return_call_*` forms); or when it calls (directly
//! or as a tail call) a defined function that may throw. The last rule is a
//! fixed point over the module's call graph, computed by a worklist over the
//! reversed edges. Imported functions always may throw. The answer is
//! conservative: a function that throws only into its own `try_table` still
//! counts as throwing, and a body the scan cannot decode counts as throwing
//! (the validator reports the error when the body is compiled).
//!
//! This file must never answer "cannot throw" for a function that can: a
//! missing check lets an exception pass unnoticed as a normal return.

use rayon::prelude::*;
use tern_environ::{FunctionBody, Module};
use wasmparser::{Operator, WasmFeatures};

/// Per function index (imports first): whether a call to it can return with
/// an exception pending.
#[derive(Debug, Clone)]
pub(crate) struct MayThrow(Vec<bool>);

impl MayThrow {
    /// Every function may throw: the answer when nothing is known (or when
    /// exceptions are off and the answer is never asked).
    pub(crate) fn all(module: &Module) -> Self {
        Self(vec![true; module.functions.len()])
    }

    /// Analyses `bodies`, the defined functions of `module`.
    pub(crate) fn analyse(module: &Module, bodies: &[FunctionBody<'_>]) -> Self {
        let n = module.functions.len();
        let mut may = vec![false; n];
        may[..module.num_imported_funcs as usize].fill(true);
        // `callers[f]`: the defined functions that call `f` directly.
        let mut callers: Vec<Vec<u32>> = vec![Vec::new(); n];
        // Decoding every body is the costly part: do it in parallel, as the
        // compilation that follows is.
        let scans: Vec<Option<Scan>> = bodies
            .par_iter()
            .map(|body| scan(module, &body.body))
            .collect();
        for (body, scanned) in bodies.iter().zip(scans) {
            let f = body.func_index as usize;
            match scanned {
                Some(Scan::Throws) | None => may[f] = true,
                Some(Scan::Calls(callees)) => {
                    for callee in callees {
                        if let Some(c) = callers.get_mut(callee as usize) {
                            c.push(body.func_index);
                        } else {
                            // An out-of-range index: invalid, caught later.
                            may[f] = true;
                        }
                    }
                }
            }
        }
        let mut work: Vec<u32> = (0..n as u32).filter(|&f| may[f as usize]).collect();
        while let Some(f) = work.pop() {
            for &caller in &callers[f as usize] {
                if !may[caller as usize] {
                    may[caller as usize] = true;
                    work.push(caller);
                }
            }
        }
        Self(may)
    }

    /// Whether a call to function `index` can return with an exception pending.
    pub(crate) fn may_throw(&self, index: u32) -> bool {
        self.0.get(index as usize).copied().unwrap_or(true)
    }
}

/// What one body does, as far as exceptions go.
enum Scan {
    /// It throws, or calls something that may (an import, an unknown target).
    Throws,
    /// It throws only if one of these defined functions does.
    Calls(Vec<u32>),
}

/// Scans one body's operators; `None` when it cannot be decoded.
fn scan(module: &Module, body: &wasmparser::FunctionBody<'_>) -> Option<Scan> {
    let mut reader = body.get_binary_reader_for_operators().ok()?;
    // Decode everything; validation (with the engine's features) comes later.
    reader.set_features(WasmFeatures::all());
    let mut ops = wasmparser::OperatorsReader::new(reader);
    let mut callees = Vec::new();
    while !ops.eof() {
        match ops.read().ok()? {
            Operator::Throw { .. }
            | Operator::ThrowRef
            | Operator::Rethrow { .. }
            | Operator::Delegate { .. }
            | Operator::CallIndirect { .. }
            | Operator::ReturnCallIndirect { .. }
            | Operator::CallRef { .. }
            | Operator::ReturnCallRef { .. } => return Some(Scan::Throws),
            Operator::Call { function_index } | Operator::ReturnCall { function_index } => {
                if module.is_imported_func(function_index) {
                    return Some(Scan::Throws);
                }
                callees.push(function_index);
            }
            _ => {}
        }
    }
    Some(Scan::Calls(callees))
}
