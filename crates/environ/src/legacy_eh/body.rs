//! Rewrites one validated function body that uses the legacy exception
//! instructions onto the final proposal's (`try_table`, `throw_ref`, `exnref`).
//!
//! The shapes (P → R is the `try`'s block type, `exn` is `exnref`):
//!
//! ```text
//! try bt B (catch $t₀ H₀) … (catch_all Hₙ₋₁) end
//! ⇒ block bt                              ;; the try's label (body and handlers)
//!      block [P] → [payload($tₙ₋₁) exn]   ;; one block per clause, last outermost
//!        …
//!          block [P] → [payload($t₀) exn]
//!            try_table bt (catch_ref $t₀ 0) … (catch_all_ref n-1)
//!              B
//!            end
//!            br <try>
//!          end
//!          local.set $exn | drop   H₀   br <try>
//!        …
//!      end
//!      local.set $exn | drop   Hₙ₋₁
//!    end
//!
//! try bt B delegate l
//! ⇒ block bt
//!      block [P] → [exn]
//!        try_table bt (catch_all_ref 0)  B  end
//!        br <try>
//!      end
//!      br <landing pad of the handler scope around label l>
//!    end
//!
//! rethrow l  ⇒  local.get $exn(l)  throw_ref
//! ```
//!
//! `delegate l` throws the exception again as if from directly inside label
//! `l`, where only the handlers around that label's body apply. The
//! innermost handler scope there (a `try` still in its body, a `try_table`,
//! or else the function itself) gets a *landing pad*: its body is wrapped in
//! `block [P] → [exn] … br <out> end throw_ref`, so a branch to the pad with an
//! exception throws it from exactly that point. A first pass finds which
//! scopes need a pad, which `try` needs a local for `rethrow`, and each
//! `try`'s clauses (the second pass must open the handler blocks before the
//! body it has not read yet).
//!
//! Every label depth in the body (`br*`, `try_table` clauses) is renumbered
//! for the blocks the rewrite inserts; all other instructions are copied
//! byte for byte. Each emitted instruction is recorded with the offset of the
//! original instruction it came from, for backtraces.

use super::encode::{self, *};
use super::Sig;
use anyhow::{anyhow, bail, Result};
use std::collections::HashMap;
use wasmparser::{BlockType, Catch, FunctionBody, Operator, ValType};

/// What the rewrite needs to know about the module.
pub(super) struct ModuleInfo {
    /// Every type's signature, if it is a function type.
    pub types: Vec<Option<Sig>>,
    /// Every tag's function type index.
    pub tags: Vec<u32>,
    /// The number of types the module defines (new ones are appended).
    pub num_types: u32,
}

/// The function types the rewrite adds for its multi-value block types,
/// shared by all the module's bodies.
#[derive(Default)]
pub(super) struct NewTypes {
    /// In order: the type at `ModuleInfo::num_types + i`.
    pub sigs: Vec<Sig>,
    index: HashMap<Sig, u32>,
}

impl NewTypes {
    /// The index of the type `sig`, added if new.
    fn index(&mut self, info: &ModuleInfo, sig: Sig) -> u32 {
        if let Some(i) = self.index.get(&sig) {
            return *i;
        }
        let i = info.num_types + self.sigs.len() as u32;
        self.sigs.push(sig.clone());
        self.index.insert(sig, i);
        i
    }
}

/// A rewritten body: its bytes (locals and code, without the size prefix)
/// and (offset in those bytes, original module offset) at each instruction.
pub(super) struct RewrittenBody {
    pub bytes: Vec<u8>,
    pub sites: Vec<(u32, u32)>,
}

/// The kinds of control frame the rewrite tells apart.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Func,
    Block,
    TryTable,
    /// A legacy `try`; `catching` once its first clause has begun.
    Try {
        catching: bool,
    },
}

/// What the first pass learns about each control frame, by opening order.
#[derive(Default, Clone)]
struct Scan {
    /// The frame needs a landing pad (a `delegate` targets its scope).
    pad: bool,
    /// A `try` whose exception a `rethrow` needs.
    local: bool,
    /// A `try`'s catch clauses: `Some(tag)` or `None` for `catch_all`.
    clauses: Vec<Option<u32>>,
    /// A `try` ending in `delegate`.
    delegate: bool,
}

/// The first pass: which frames need pads and locals, each `try`'s clauses.
fn scan(body: &FunctionBody<'_>) -> Result<Vec<Scan>> {
    let mut frames: Vec<(usize, Kind)> = vec![(0, Kind::Func)];
    let mut scans = vec![Scan::default()];
    let mut ops = body.get_operators_reader()?;
    while !ops.eof() {
        let op = ops.read()?;
        let mut open = |kind| {
            frames.push((scans.len(), kind));
            scans.push(Scan::default());
        };
        let opened = match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                Some(Kind::Block)
            }
            Operator::TryTable { .. } => Some(Kind::TryTable),
            Operator::Try { .. } => Some(Kind::Try { catching: false }),
            _ => None,
        };
        if let Some(kind) = opened {
            open(kind);
            continue;
        }
        match op {
            Operator::Catch { tag_index } => {
                let (seq, kind) = frames.last_mut().ok_or_else(unbalanced)?;
                *kind = Kind::Try { catching: true };
                scans[*seq].clauses.push(Some(tag_index));
            }
            Operator::CatchAll => {
                let (seq, kind) = frames.last_mut().ok_or_else(unbalanced)?;
                *kind = Kind::Try { catching: true };
                scans[*seq].clauses.push(None);
            }
            Operator::End => {
                frames.pop();
            }
            Operator::Delegate { relative_depth } => {
                let (seq, _) = frames.pop().ok_or_else(unbalanced)?;
                scans[seq].delegate = true;
                let target = pad_scope(&frames, relative_depth)?;
                scans[frames[target].0].pad = true;
            }
            Operator::Rethrow { relative_depth } => {
                let (seq, _) = label(&frames, relative_depth)?;
                scans[seq].local = true;
            }
            _ => {}
        }
    }
    Ok(scans)
}

/// The error for control flow that validation should have refused.
fn unbalanced() -> anyhow::Error {
    anyhow!("legacy exception rewrite: unbalanced control frames in a validated body")
}

/// The frame `depth` labels out from the top of `frames`.
fn label<T: Copy>(frames: &[T], depth: u32) -> Result<T> {
    frames
        .len()
        .checked_sub(1 + depth as usize)
        .map(|i| frames[i])
        .ok_or_else(unbalanced)
}

/// The index in `frames` of the innermost handler scope at or around label
/// `depth`: a `try` still in its body, a `try_table`, or the function.
fn pad_scope(frames: &[(usize, Kind)], depth: u32) -> Result<usize> {
    let start = frames
        .len()
        .checked_sub(1 + depth as usize)
        .ok_or_else(unbalanced)?;
    Ok((0..=start)
        .rev()
        .find(|&i| {
            matches!(
                frames[i].1,
                Kind::Func | Kind::TryTable | Kind::Try { catching: false }
            )
        })
        .unwrap_or(0))
}

/// An original control frame during the second pass.
#[derive(Clone, Copy)]
struct Frame {
    kind: Kind,
    /// Opening order (index into the scans).
    seq: usize,
    /// The new frame an original branch to this label goes to.
    target: usize,
    /// The new frame of this scope's landing pad, if it has one.
    pad: Option<usize>,
    /// For a `try`: the local holding the caught exception, if needed.
    local: Option<u32>,
    /// For a `try`: the clauses begun so far.
    clause: usize,
}

/// The second pass's state.
struct Writer<'a> {
    bytes: &'a [u8],
    info: &'a ModuleInfo,
    new_types: &'a mut NewTypes,
    code: Vec<u8>,
    sites: Vec<(u32, u32)>,
    frames: Vec<Frame>,
    /// How many new control frames are open.
    depth: usize,
    /// Original offset of the instruction being rewritten.
    at: u32,
}

impl Writer<'_> {
    /// Records that what follows comes from the instruction at `self.at`.
    fn site(&mut self) {
        let here = self.code.len() as u32;
        match self.sites.last_mut() {
            Some(last) if last.0 == here => last.1 = self.at,
            _ => self.sites.push((here, self.at)),
        }
    }

    /// The relative depth from here to the new frame `frame`.
    fn rel(&self, frame: usize) -> u32 {
        (self.depth - 1 - frame) as u32
    }

    /// The relative depth of the new frame an original `br depth` targets.
    fn branch(&self, depth: u32) -> Result<u32> {
        Ok(self.rel(label(&self.frames, depth)?.target))
    }

    /// Opens a new `block` of type `sig`, returning its frame number.
    fn open_block(&mut self, sig: Sig) -> usize {
        self.code.push(BLOCK);
        self.block_type(sig);
        self.depth += 1;
        self.depth - 1
    }

    /// Writes the block type for `sig`: inline when it has no parameters and
    /// at most one result, else a (possibly new) type index.
    fn block_type(&mut self, sig: Sig) {
        match (&sig.params[..], &sig.results[..]) {
            ([], []) => self.code.push(0x40),
            ([], [one]) => encode::val_type(&mut self.code, *one),
            _ => {
                let index = self.new_types.index(self.info, sig);
                encode::s64_leb(&mut self.code, i64::from(index));
            }
        }
    }

    /// Writes `end`, closing the innermost new frame.
    fn end(&mut self) {
        self.code.push(END);
        self.depth -= 1;
    }

    /// Writes `br` to the new frame `frame`.
    fn br(&mut self, frame: usize) {
        let depth = self.rel(frame);
        self.code.push(BR);
        encode::u32_leb(&mut self.code, depth);
    }

    /// Closes the landing pad `pad` (if any) of a scope whose body just
    /// ended: the body's results leave through `exit`, an exception branched
    /// to the pad is thrown from here.
    fn close_pad(&mut self, pad: Option<usize>, exit: usize) {
        if pad.is_some() {
            self.br(exit);
            self.end();
            self.code.push(THROW_REF);
        }
    }

    /// The signature of a block type.
    fn sig(&self, ty: BlockType) -> Result<Sig> {
        Ok(match ty {
            BlockType::Empty => Sig::default(),
            BlockType::Type(t) => Sig {
                params: vec![],
                results: vec![t],
            },
            BlockType::FuncType(i) => self
                .info
                .types
                .get(i as usize)
                .cloned()
                .flatten()
                .ok_or_else(|| {
                    anyhow!("legacy exception rewrite: type {i} is not a function type")
                })?,
        })
    }

    /// The parameters of tag `tag`.
    fn tag_params(&self, tag: u32) -> Result<Vec<ValType>> {
        let ty = *self
            .info
            .tags
            .get(tag as usize)
            .ok_or_else(|| anyhow!("legacy exception rewrite: unknown tag {tag}"))?;
        Ok(self.sig(BlockType::FuncType(ty))?.params)
    }
}

/// Rewrites `body` (at offset `body.range().start` of `bytes`), whose function
/// has parameters `params`.
pub(super) fn rewrite(
    bytes: &[u8],
    body: &FunctionBody<'_>,
    params: usize,
    info: &ModuleInfo,
    new_types: &mut NewTypes,
) -> Result<RewrittenBody> {
    let scans = scan(body)?;
    // Locals: the original declarations, then one `exnref` per `try` whose
    // exception a `rethrow` needs.
    let mut locals = body.get_locals_reader()?;
    let groups = locals.get_count();
    let mut declared = params as u64;
    for _ in 0..groups {
        declared += u64::from(locals.read()?.0);
    }
    let locals_start = body.range().start as usize;
    let ops_start = locals.original_position() as usize;
    let first_new = u32::try_from(declared).map_err(|_| anyhow!("too many locals"))?;
    let new_locals = scans.iter().filter(|s| s.local).count() as u32;

    let mut w = Writer {
        bytes,
        info,
        new_types,
        code: Vec::new(),
        sites: Vec::new(),
        frames: Vec::new(),
        depth: 1,
        at: ops_start as u32,
    };
    let mut next_local = first_new;
    w.site();
    let func_pad = scans[0].pad.then(|| w.open_block(Sig::exn(vec![])));
    w.frames.push(Frame {
        kind: Kind::Func,
        seq: 0,
        target: 0,
        pad: func_pad,
        local: None,
        clause: 0,
    });
    let mut seq = 0usize;
    let mut ops = body.get_operators_reader()?;
    while !ops.eof() {
        let (op, offset) = ops.read_with_offset()?;
        let end = ops.original_position() as usize;
        let raw = &w.bytes[offset as usize..end];
        w.at = offset as u32;
        w.site();
        match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                seq += 1;
                w.code.extend_from_slice(raw);
                w.depth += 1;
                let frame = Frame {
                    kind: Kind::Block,
                    seq,
                    target: w.depth - 1,
                    pad: None,
                    local: None,
                    clause: 0,
                };
                w.frames.push(frame);
            }
            Operator::TryTable { try_table } => {
                seq += 1;
                w.code.push(TRY_TABLE);
                write_block_type(&mut w.code, try_table.ty);
                encode::u32_leb(&mut w.code, try_table.catches.len() as u32);
                for catch in &try_table.catches {
                    let (kind, tag, label) = match *catch {
                        Catch::One { tag, label } => (0, Some(tag), label),
                        Catch::OneRef { tag, label } => (1, Some(tag), label),
                        Catch::All { label } => (2, None, label),
                        Catch::AllRef { label } => (3, None, label),
                    };
                    w.code.push(kind);
                    if let Some(tag) = tag {
                        encode::u32_leb(&mut w.code, tag);
                    }
                    let depth = w.branch(label)?;
                    encode::u32_leb(&mut w.code, depth);
                }
                w.depth += 1;
                let target = w.depth - 1;
                let sig = w.sig(try_table.ty)?;
                let pad = scans[seq].pad.then(|| w.open_block(Sig::exn(sig.params)));
                w.frames.push(Frame {
                    kind: Kind::TryTable,
                    seq,
                    target,
                    pad,
                    local: None,
                    clause: 0,
                });
            }
            Operator::Try { blockty } => {
                seq += 1;
                let scan = &scans[seq];
                let sig = w.sig(blockty)?;
                let outer = w.open_block_raw(blockty);
                if scan.delegate {
                    w.open_block(Sig::exn(sig.params.clone()));
                    w.code.push(TRY_TABLE);
                    write_block_type(&mut w.code, blockty);
                    w.code.extend_from_slice(&[1, 3, 0]); // one clause: catch_all_ref 0
                    w.depth += 1;
                } else {
                    for clause in scan.clauses.iter().rev() {
                        let mut results = match clause {
                            Some(tag) => w.tag_params(*tag)?,
                            None => vec![],
                        };
                        results.push(ValType::EXNREF);
                        w.open_block(Sig {
                            params: sig.params.clone(),
                            results,
                        });
                    }
                    w.code.push(TRY_TABLE);
                    write_block_type(&mut w.code, blockty);
                    encode::u32_leb(&mut w.code, scan.clauses.len() as u32);
                    for (j, clause) in scan.clauses.iter().enumerate() {
                        match clause {
                            Some(tag) => {
                                w.code.push(1); // catch_ref
                                encode::u32_leb(&mut w.code, *tag);
                            }
                            None => w.code.push(3), // catch_all_ref
                        }
                        encode::u32_leb(&mut w.code, j as u32);
                    }
                    w.depth += 1;
                }
                let pad = scan.pad.then(|| w.open_block(Sig::exn(sig.params)));
                let local = scan.local.then(|| {
                    next_local += 1;
                    next_local - 1
                });
                w.frames.push(Frame {
                    kind: Kind::Try { catching: false },
                    seq,
                    target: outer,
                    pad,
                    local,
                    clause: 0,
                });
            }
            Operator::Catch { .. } | Operator::CatchAll => {
                let frame = *w.frames.last().ok_or_else(unbalanced)?;
                if frame.clause == 0 {
                    w.close_pad(frame.pad, frame.target);
                    w.end(); // try_table
                }
                w.br(frame.target);
                w.end(); // this clause's handler block
                match frame.local {
                    Some(local) => {
                        w.code.push(LOCAL_SET);
                        encode::u32_leb(&mut w.code, local);
                    }
                    None => w.code.push(DROP),
                }
                let top = w.frames.last_mut().ok_or_else(unbalanced)?;
                top.clause += 1;
                top.kind = Kind::Try { catching: true };
            }
            Operator::Delegate { relative_depth } => {
                let frame = w.frames.pop().ok_or_else(unbalanced)?;
                w.close_pad(frame.pad, frame.target);
                w.end(); // try_table
                w.br(frame.target);
                w.end(); // the block receiving the exception
                let kinds: Vec<(usize, Kind)> = w.frames.iter().map(|f| (f.seq, f.kind)).collect();
                let scope = w.frames[pad_scope(&kinds, relative_depth)?];
                let pad = scope.pad.ok_or_else(|| {
                    anyhow!("legacy exception rewrite: delegate target has no landing pad")
                })?;
                w.br(pad);
                w.end(); // the try's block
            }
            Operator::Rethrow { relative_depth } => {
                let frame = label(&w.frames, relative_depth)?;
                let local = frame.local.ok_or_else(|| {
                    anyhow!("legacy exception rewrite: rethrow target holds no exception")
                })?;
                w.code.push(LOCAL_GET);
                encode::u32_leb(&mut w.code, local);
                w.code.push(THROW_REF);
            }
            Operator::End => {
                let frame = w.frames.pop().ok_or_else(unbalanced)?;
                match frame.kind {
                    Kind::Func => {
                        if frame.pad.is_some() {
                            w.code.push(RETURN);
                            w.end();
                            w.code.push(THROW_REF);
                        }
                        w.code.extend_from_slice(raw);
                        w.depth -= 1;
                    }
                    Kind::Block => {
                        w.code.extend_from_slice(raw);
                        w.depth -= 1;
                    }
                    Kind::TryTable => {
                        w.close_pad(frame.pad, frame.target);
                        w.code.extend_from_slice(raw);
                        w.depth -= 1;
                    }
                    Kind::Try { catching } => {
                        if !catching {
                            // A `try` without clauses: the body's results
                            // leave the `try_table` into the try's block.
                            w.close_pad(frame.pad, frame.target);
                            w.end();
                        }
                        w.end();
                    }
                }
            }
            Operator::Br { relative_depth } => w.branch_op(BR, relative_depth)?,
            Operator::BrIf { relative_depth } => w.branch_op(BR_IF, relative_depth)?,
            Operator::BrOnNull { relative_depth } => w.branch_op(BR_ON_NULL, relative_depth)?,
            Operator::BrOnNonNull { relative_depth } => {
                w.branch_op(BR_ON_NON_NULL, relative_depth)?
            }
            Operator::BrTable { targets } => {
                w.code.push(BR_TABLE);
                encode::u32_leb(&mut w.code, targets.len());
                let mut depths = Vec::with_capacity(targets.len() as usize + 1);
                for t in targets.targets() {
                    depths.push(w.branch(t?)?);
                }
                depths.push(w.branch(targets.default())?);
                for d in depths {
                    encode::u32_leb(&mut w.code, d);
                }
            }
            Operator::BrOnCast {
                relative_depth,
                from_ref_type,
                to_ref_type,
            }
            | Operator::BrOnCastFail {
                relative_depth,
                from_ref_type,
                to_ref_type,
            } => {
                let code = if matches!(op, Operator::BrOnCast { .. }) {
                    24
                } else {
                    25
                };
                w.code.push(GC_PREFIX);
                encode::u32_leb(&mut w.code, code);
                let flags = u8::from(from_ref_type.is_nullable())
                    | (u8::from(to_ref_type.is_nullable()) << 1);
                w.code.push(flags);
                let depth = w.branch(relative_depth)?;
                encode::u32_leb(&mut w.code, depth);
                encode::heap_type(&mut w.code, from_ref_type.heap_type());
                encode::heap_type(&mut w.code, to_ref_type.heap_type());
            }
            Operator::BrOnCastDescEq { .. }
            | Operator::BrOnCastDescEqFail { .. }
            | Operator::Resume { .. }
            | Operator::ResumeThrow { .. }
            | Operator::ResumeThrowRef { .. } => {
                bail!(
                    "legacy exception handling cannot be combined with `{}` in one function (offset {offset:#x})",
                    op_name(&op)
                )
            }
            _ => w.code.extend_from_slice(raw),
        }
    }
    ops.finish()?;
    if !w.frames.is_empty() || w.depth != 0 {
        return Err(unbalanced());
    }

    let mut out = Vec::with_capacity(w.code.len() + 16);
    encode::u32_leb(&mut out, groups + u32::from(new_locals > 0));
    let decl_start = locals_start + leb_len(bytes, locals_start)?;
    out.extend_from_slice(&bytes[decl_start..ops_start]);
    if new_locals > 0 {
        encode::u32_leb(&mut out, new_locals);
        out.push(EXNREF);
    }
    let shift = out.len() as u32;
    out.extend_from_slice(&w.code);
    let mut sites = vec![(0, locals_start as u32)];
    sites.extend(w.sites.into_iter().map(|(at, orig)| (at + shift, orig)));
    Ok(RewrittenBody { bytes: out, sites })
}

impl Writer<'_> {
    /// Opens a `block` with the original block type `ty` (copied as is).
    fn open_block_raw(&mut self, ty: BlockType) -> usize {
        self.code.push(BLOCK);
        write_block_type(&mut self.code, ty);
        self.depth += 1;
        self.depth - 1
    }

    /// Writes a one-label branch `opcode` for the original depth `depth`.
    fn branch_op(&mut self, opcode: u8, depth: u32) -> Result<()> {
        let depth = self.branch(depth)?;
        self.code.push(opcode);
        encode::u32_leb(&mut self.code, depth);
        Ok(())
    }
}

/// Writes an original block type.
fn write_block_type(out: &mut Vec<u8>, ty: BlockType) {
    match ty {
        BlockType::Empty => out.push(0x40),
        BlockType::Type(t) => encode::val_type(out, t),
        BlockType::FuncType(i) => encode::s64_leb(out, i64::from(i)),
    }
}

/// The length of the LEB128 number at `bytes[pos..]`.
fn leb_len(bytes: &[u8], pos: usize) -> Result<usize> {
    encode::read_u32_leb(bytes, pos)
        .map(|(_, len)| len)
        .ok_or_else(|| anyhow!("legacy exception rewrite: malformed local count"))
}

/// An instruction's name for error messages.
fn op_name(op: &Operator<'_>) -> &'static str {
    match op {
        Operator::BrOnCastDescEq { .. } => "br_on_cast_desc_eq",
        Operator::BrOnCastDescEqFail { .. } => "br_on_cast_desc_eq_fail",
        Operator::Resume { .. } => "resume",
        Operator::ResumeThrow { .. } => "resume_throw",
        _ => "resume_throw_ref",
    }
}
