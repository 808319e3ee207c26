//! Where Rust's heap lives inside a backend, so that PostgreSQL can see it.
//!
//! Rust collections allocate through the global allocator. This one serves
//! each allocation from one of two places and remembers which in a 16-byte
//! prefix, so it can give it back to the right one:
//! - normally, the C heap (as Rust's default allocator does);
//! - while [`in_context`] runs, a PostgreSQL memory context. The aggregate
//!   steps (`agg.rs`) run the code that grows a state this way, so a state
//!   lives entirely in its aggregate's memory context: hash aggregation
//!   counts it against `work_mem` and spills when it must, and the memory
//!   goes back with the group.
//!
//! Neither place aborts the process when memory runs out: a refused
//! allocation returns null, the states grow only through
//! `health_core::resources` (which asks first and turns a refusal into an
//! `ERROR` with SQLSTATE 53200), so an aggregate fed more rows than fit fails
//! one statement and the server keeps serving.
//!
//! Only code that allocates nothing that outlives the context may run inside
//! [`in_context`]: the state's own growth, nothing lazily initialised.
//! Debug builds check that rule where it would break: each block also
//! records the context it came from, and giving a block back aborts the
//! backend with a message in the server log unless its tag is one of the two
//! above and, for a context's block, PostgreSQL's own chunk header still
//! names that context (a block that outlived its context is freed memory,
//! whose header no longer does). The `#[pg_test]`s and a run of the
//! regression schedule use a debug build.

// The test runner keeps Rust's allocator (see ALLOCATOR), so there none of
// this is used.
#![cfg_attr(test, allow(dead_code))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicPtr, Ordering};

use pgrx::pg_sys;

pub struct BackendAllocator;

/// The library a backend loads uses it; the test runner executable that
/// `cargo pgrx test` links (outside any backend, where PostgreSQL's symbols
/// do not exist) keeps Rust's default.
#[cfg_attr(not(test), global_allocator)]
static ALLOCATOR: BackendAllocator = BackendAllocator;

/// The memory context allocations go to; null = the C heap. A backend is
/// single-threaded; other processes that link this crate (pgrx's tools,
/// test runners) never set it.
static TARGET: AtomicPtr<pg_sys::MemoryContextData> = AtomicPtr::new(std::ptr::null_mut());

/// Bytes before each allocation: the address the block really starts at,
/// and where it came from; debug builds add the context it came from (null
/// for the C heap) and keep 16-byte steps.
const PREFIX: usize = if cfg!(debug_assertions) { 32 } else { 16 };
const FROM_C_HEAP: usize = 0x4845_4150; // "HEAP"
const FROM_CONTEXT: usize = 0x4354_5854; // "CTXT"

/// Bytes to ask for so that an aligned block of `layout` fits after the prefix.
#[inline]
fn block_size(layout: Layout) -> Option<usize> {
    let align = layout.align().max(8);
    layout
        .size()
        .checked_add(PREFIX + align - 8)
        .filter(|&n| n <= isize::MAX as usize / 2)
}

#[inline]
unsafe fn finish_block(raw: *mut u8, layout: Layout, origin: usize, context: pg_sys::MemoryContext) -> *mut u8 {
    if raw.is_null() {
        return raw;
    }
    let align = layout.align().max(8);
    let user = (raw as usize + PREFIX).next_multiple_of(align) as *mut usize;
    // SAFETY: block_size left PREFIX bytes (and the alignment slack) before `user`.
    unsafe {
        user.sub(2).write(raw as usize);
        user.sub(1).write(origin);
        if cfg!(debug_assertions) {
            user.sub(3).write(context as usize);
        }
    }
    user as *mut u8
}

/// Debug builds: the block at `ptr` goes back to the heap its tag names
/// (see the module's doc); aborts the backend otherwise. Release builds
/// check nothing.
///
/// SAFETY: `ptr` came from this allocator with `layout`.
#[inline]
unsafe fn check_block(ptr: *mut u8, layout: Layout) {
    if !cfg!(debug_assertions) {
        return;
    }
    // SAFETY: alloc wrote the debug prefix before every block.
    unsafe {
        let raw = (ptr as *const usize).sub(2).read() as *mut u8;
        let context = (ptr as *const usize).sub(3).read() as pg_sys::MemoryContext;
        let fine = match (ptr as *const usize).sub(1).read() {
            FROM_C_HEAP => {
                let offset = (ptr as usize).wrapping_sub(raw as usize);
                context.is_null() && (PREFIX..=PREFIX + layout.align()).contains(&offset)
            }
            FROM_CONTEXT => !context.is_null() && chunk_context(raw) == context,
            _ => false,
        };
        if !fine {
            use std::io::Write;
            // No allocation on this path: a fixed message, stderr unbuffered.
            let _ = std::io::stderr().write_all(
                b"customer_health: a block was freed into a heap it did not come from: \
                  a Rust allocation made inside memory::in_context outlived its memory context\n",
            );
            std::process::abort();
        }
    }
}

/// The memory context PostgreSQL's chunk header before `raw` names.
///
/// SAFETY: `raw` was returned by a palloc (it may since have been freed:
/// then the answer is whatever the bytes hold, which is the point).
#[cfg(feature = "pg15")]
unsafe fn chunk_context(raw: *mut u8) -> pg_sys::MemoryContext {
    // PostgreSQL 15: the owning context is the pointer just before the chunk.
    // SAFETY: a palloc'd chunk is preceded by its header (the function's contract).
    unsafe { (raw as *const pg_sys::MemoryContext).sub(1).read() }
}

/// The memory context PostgreSQL's chunk header before `raw` names.
///
/// SAFETY: as above.
#[cfg(not(feature = "pg15"))]
unsafe fn chunk_context(raw: *mut u8) -> pg_sys::MemoryContext {
    // PostgreSQL 16 on: a chunk header encodes its allocator; the server's
    // own function reads it (called directly: no error can come from it).
    unsafe extern "C" {
        fn GetMemoryChunkContext(pointer: *mut std::ffi::c_void) -> pg_sys::MemoryContext;
    }
    // SAFETY: as above; the server's function only reads the header.
    unsafe { GetMemoryChunkContext(raw.cast()) }
}

// SAFETY: every block is at least as large and aligned as its layout asks
// (block_size, finish_block) and goes back to the heap it came from.
unsafe impl GlobalAlloc for BackendAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(size) = block_size(layout) else {
            return std::ptr::null_mut();
        };
        let target = TARGET.load(Ordering::Relaxed);
        // SAFETY: size is non-zero and below MaxAllocHugeSize; a target is a
        // live memory context (in_context's contract).
        unsafe {
            if target.is_null() {
                finish_block(
                    System.alloc(Layout::from_size_align_unchecked(size, 8)),
                    layout,
                    FROM_C_HEAP,
                    std::ptr::null_mut(),
                )
            } else {
                let flags = (pg_sys::MCXT_ALLOC_HUGE | pg_sys::MCXT_ALLOC_NO_OOM) as i32;
                let raw = pg_sys::MemoryContextAllocExtended(target, size, flags) as *mut u8;
                finish_block(raw, layout, FROM_CONTEXT, target)
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: ptr came from alloc above, which wrote the prefix.
        unsafe {
            check_block(ptr, layout);
            let raw = (ptr as *const usize).sub(2).read() as *mut u8;
            match (ptr as *const usize).sub(1).read() {
                FROM_CONTEXT => pg_sys::pfree(raw.cast()),
                _ => System.dealloc(
                    raw,
                    Layout::from_size_align_unchecked(block_size(layout).unwrap_or(0), 8),
                ),
            }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as in alloc/dealloc; the caller guarantees ptr/layout match.
        unsafe {
            check_block(ptr, layout);
            let origin = (ptr as *const usize).sub(1).read();
            let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
            // A C-heap block growing outside a context stays where it is when
            // it can: realloc keeps the prefix at the same offset for
            // alignments up to 8 (malloc returns 16-aligned blocks).
            if origin == FROM_C_HEAP && TARGET.load(Ordering::Relaxed).is_null() && layout.align() <= 8 {
                let (Some(old), Some(new)) = (block_size(layout), block_size(new_layout)) else {
                    return std::ptr::null_mut();
                };
                let raw = (ptr as *const usize).sub(2).read() as *mut u8;
                let grown = System.realloc(raw, Layout::from_size_align_unchecked(old, 8), new);
                return finish_block(grown, new_layout, FROM_C_HEAP, std::ptr::null_mut());
            }
            let moved = self.alloc(new_layout);
            if !moved.is_null() {
                std::ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            moved
        }
    }
}

/// Runs `f` with Rust's allocations served from `context`, restoring the
/// previous target afterwards, also when `f` unwinds (an ERROR).
///
/// SAFETY: `context` outlives every allocation `f` leaves behind: `f` only
/// grows data owned by something that lives in `context` (an aggregate
/// state), and initialises nothing global.
pub unsafe fn in_context<R>(context: pg_sys::MemoryContext, f: impl FnOnce() -> R) -> R {
    struct Restore(*mut pg_sys::MemoryContextData);
    impl Drop for Restore {
        fn drop(&mut self) {
            TARGET.store(self.0, Ordering::Relaxed);
        }
    }
    let _restore = Restore(TARGET.swap(context, Ordering::Relaxed));
    f()
}
