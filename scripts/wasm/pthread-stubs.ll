; pthread_join and pthread_detach for Debian's wasi-libc (2022), which lacks them
; although Rust's std links them on wasm32-wasip1. No thread is ever created there
; (pthread_create is absent too), so both only answer ENOTSUP (58 in WASI's errno).
target datalayout = "e-m:e-p:32:32-p10:8:8-p20:8:8-i64:64-n32:64-S128-ni:1:10:20"
target triple = "wasm32-unknown-wasi"

define i32 @pthread_join(i32 %thread, ptr %retval) {
  ret i32 58
}

define i32 @pthread_detach(i32 %thread) {
  ret i32 58
}
