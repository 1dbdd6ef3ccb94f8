//! What std would otherwise bring to a wasi-hijack component (the WASI 0.2 one and the
//! WASI 0.3 one alike): its heap, the canonical ABI's `cabi_realloc` over it, and its answer
//! to a panic. A component links it by depending on it (`use hijack_runtime as _;`).
//!
//! The heap is the one std uses on `wasm32-wasip2`, wasi-libc's `malloc` (dlmalloc), reached
//! directly. A panic traps at once, as `panic = "abort"` did after printing; nothing is
//! printed, so the component needs no stderr, and no formatting of panic messages. Natively
//! the crate is empty.

#![no_std]
#![deny(missing_docs)]
#![cfg(target_arch = "wasm32")]

extern crate alloc;

use core::alloc::{GlobalAlloc, Layout};

/// The largest alignment wasi-libc's `malloc`, `calloc` and `realloc` guarantee on wasm32.
const MALLOC_ALIGN: usize = 8;

#[allow(unsafe_code)]
#[link(name = "c")]
unsafe extern "C" {
    fn malloc(size: usize) -> *mut u8;
    fn calloc(count: usize, size: usize) -> *mut u8;
    fn realloc(ptr: *mut u8, size: usize) -> *mut u8;
    fn aligned_alloc(align: usize, size: usize) -> *mut u8;
    fn free(ptr: *mut u8);
}

/// The component's global allocator: wasi-libc's `malloc` family.
struct LibcMalloc;

#[allow(unsafe_code)]
// SAFETY: every block comes from wasi-libc's allocator with at least `layout`'s size and
// alignment (`aligned_alloc` above the alignment `malloc` guarantees), and goes back to it
// through `free`.
unsafe impl GlobalAlloc for LibcMalloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: plain C calls; a null return is passed on as the allocation failure.
        unsafe {
            if layout.align() <= MALLOC_ALIGN {
                malloc(layout.size())
            } else {
                aligned_alloc(layout.align(), layout.size())
            }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= MALLOC_ALIGN {
            // SAFETY: as `alloc`; calloc zeroes the block.
            unsafe { calloc(layout.size(), 1) }
        } else {
            // SAFETY: `alloc` returns null or a block of `layout.size()` bytes.
            unsafe {
                let ptr = self.alloc(layout);
                if !ptr.is_null() {
                    ptr.write_bytes(0, layout.size());
                }
                ptr
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from this allocator (GlobalAlloc's contract).
        unsafe { free(ptr) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= MALLOC_ALIGN {
            // SAFETY: `ptr` came from `malloc` or `calloc` (alignment at most MALLOC_ALIGN).
            return unsafe { realloc(ptr, new_size) };
        }
        // C's realloc does not keep a larger alignment: a new block, the bytes, the old freed.
        // SAFETY: `layout` with `new_size` is valid (GlobalAlloc's contract); both blocks hold
        // at least the smaller of the two sizes.
        unsafe {
            let new = self.alloc(Layout::from_size_align_unchecked(new_size, layout.align()));
            if !new.is_null() {
                core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }
}

#[global_allocator]
static ALLOCATOR: LibcMalloc = LibcMalloc;

/// The canonical ABI's allocator export, through which the runtime hands the component lists
/// and strings (std defines it on `wasm32-wasip2`; wit-bindgen expects it there). A failed
/// allocation traps.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
unsafe extern "C" fn cabi_realloc(
    old_ptr: *mut u8,
    old_len: usize,
    align: usize,
    new_len: usize,
) -> *mut u8 {
    use alloc::alloc::{alloc, handle_alloc_error, realloc};
    // SAFETY: the canonical ABI passes a power-of-two `align`, sizes that fit the memory, and
    // for `old_len > 0` a block it got from this function with that size and alignment.
    unsafe {
        let (ptr, layout) = if old_len == 0 {
            if new_len == 0 {
                // A zero-sized block: any non-null, aligned address (as std answers).
                return align as *mut u8;
            }
            let layout = Layout::from_size_align_unchecked(new_len, align);
            (alloc(layout), layout)
        } else {
            let layout = Layout::from_size_align_unchecked(old_len, align);
            (realloc(old_ptr, layout, new_len), layout)
        };
        if ptr.is_null() {
            handle_alloc_error(layout);
        }
        ptr
    }
}

/// A panic (none is expected: the code is written not to) traps the component's instance.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}
