;; Our SIMD kernels for the wasm backend: they work on tensors in tfjs-backend-wasm's own memory, which the module imports.
;; scripts/build-wasm-kernels.ts compiles this file (twice: for the threaded build's shared memory, and for the
;; single-threaded build's) into wasm-simd-kernels.generated.ts; wasm-simd-kernels.ts loads it.
;;
;; Pointers are byte addresses of float32 arrays; counts and ranges are in elements. Matrices are [rows, width], row
;; after row. Each function does a range of its work ([c0, c1) channels or [r0, r1) rows or [i0, i1) elements), so that
;; the range can be split between threads; what one element or channel gets never depends on the split.
(module
  (import "env" "memory" (memory 1 MAXIMUM))

  ;; the high two float32 lanes of v as float64s
  (func $promote_high (param $v v128) (result v128)
    (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))

  ;; two float64x2 as one float32x4 (lo's lanes first)
  (func $demote2 (param $lo v128) (param $hi v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (f32x4.demote_f64x2_zero (local.get $lo)) (f32x4.demote_f64x2_zero (local.get $hi))))

;; Sums down rows [r0, r1) of [rows, width] matrices, every channel, in float64, row after row, into `acc` (two float64
  ;; per channel: the sums s, then the sums q). Rows are taken in blocks of about 8 KB, and within a block channel
  ;; block after channel block: each block is read from memory once, and the running sums wait in `acc` between blocks.
  ;;   kind 0 (moments): s = Σ (x − x[0, c]), q = Σ (x − x[0, c])²
  ;;   kind 1 (gradient sums): s = Σ dy, q = Σ dy·(x − mean[c])      (a = dy, b = x, shift = mean)
  (func $channelSums (param $kind i32) (param $a i32) (param $b i32) (param $shift i32) (param $r0 i32) (param $r1 i32)
        (param $width i32) (param $acc i32)
    (local $c i32) (local $r i32) (local $rEnd i32) (local $chunk i32) (local $stride i32) (local $o i32) (local $end i32)
    (local $at i32) (local $qAt i32)
    (local $shLo v128) (local $shHi v128) (local $sLo v128) (local $sHi v128) (local $qLo v128) (local $qHi v128)
    (local $va v128) (local $vb v128) (local $aLo v128) (local $aHi v128) (local $dLo v128) (local $dHi v128)
    (local $sh f64) (local $ss f64) (local $qs f64) (local $fa f64) (local $fd f64)
    (local.set $stride (i32.shl (local.get $width) (i32.const 2)))
    ;; rows per block: 2048 floats' worth, at least 1
    (local.set $chunk (select (i32.div_u (i32.const 2048) (local.get $width)) (i32.const 1)
      (i32.gt_u (i32.div_u (i32.const 2048) (local.get $width)) (i32.const 0))))
    ;; zero the sums
    (local.set $c (i32.const 0))
    (block $z_done (loop $zero
      (br_if $z_done (i32.ge_u (local.get $c) (local.get $width)))
      (f64.store (i32.add (local.get $acc) (i32.shl (local.get $c) (i32.const 3))) (f64.const 0))
      (f64.store (i32.add (local.get $acc) (i32.shl (i32.add (local.get $c) (local.get $width)) (i32.const 3))) (f64.const 0))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $zero)))
    (local.set $r (local.get $r0))
    (block $chunks_done (loop $chunks
      (br_if $chunks_done (i32.ge_u (local.get $r) (local.get $r1)))
      (local.set $rEnd (select (local.get $r1) (i32.add (local.get $r) (local.get $chunk))
        (i32.gt_u (i32.add (local.get $r) (local.get $chunk)) (local.get $r1))))
      (local.set $end (i32.mul (local.get $rEnd) (local.get $stride)))
      (local.set $c (i32.const 0))
      ;; four channels at a time
      (block $simd_done (loop $simd
        (br_if $simd_done (i32.gt_u (i32.add (local.get $c) (i32.const 4)) (local.get $width)))
        (local.set $at (i32.add (local.get $acc) (i32.shl (local.get $c) (i32.const 3))))
        (local.set $qAt (i32.add (local.get $at) (i32.shl (local.get $width) (i32.const 3))))
        (local.set $sLo (v128.load (local.get $at))) (local.set $sHi (v128.load offset=16 (local.get $at)))
        (local.set $qLo (v128.load (local.get $qAt))) (local.set $qHi (v128.load offset=16 (local.get $qAt)))
        (local.set $va (v128.load (i32.add (local.get $shift) (i32.shl (local.get $c) (i32.const 2)))))
        (local.set $shLo (f64x2.promote_low_f32x4 (local.get $va)))
        (local.set $shHi (call $promote_high (local.get $va)))
        (local.set $o (i32.add (i32.mul (local.get $r) (local.get $stride)) (i32.shl (local.get $c) (i32.const 2))))
        (if (i32.eqz (local.get $kind))
          (then
            (block $rows_done (loop $rows_loop
              (br_if $rows_done (i32.ge_u (local.get $o) (local.get $end)))
              (local.set $va (v128.load (i32.add (local.get $a) (local.get $o))))
              (local.set $dLo (f64x2.sub (f64x2.promote_low_f32x4 (local.get $va)) (local.get $shLo)))
              (local.set $dHi (f64x2.sub (call $promote_high (local.get $va)) (local.get $shHi)))
              (local.set $sLo (f64x2.add (local.get $sLo) (local.get $dLo)))
              (local.set $sHi (f64x2.add (local.get $sHi) (local.get $dHi)))
              (local.set $qLo (f64x2.add (local.get $qLo) (f64x2.mul (local.get $dLo) (local.get $dLo))))
              (local.set $qHi (f64x2.add (local.get $qHi) (f64x2.mul (local.get $dHi) (local.get $dHi))))
              (local.set $o (i32.add (local.get $o) (local.get $stride)))
              (br $rows_loop))))
          (else
            (block $rows_done (loop $rows_loop
              (br_if $rows_done (i32.ge_u (local.get $o) (local.get $end)))
              (local.set $va (v128.load (i32.add (local.get $a) (local.get $o))))
              (local.set $vb (v128.load (i32.add (local.get $b) (local.get $o))))
              (local.set $aLo (f64x2.promote_low_f32x4 (local.get $va)))
              (local.set $aHi (call $promote_high (local.get $va)))
              (local.set $sLo (f64x2.add (local.get $sLo) (local.get $aLo)))
              (local.set $sHi (f64x2.add (local.get $sHi) (local.get $aHi)))
              (local.set $qLo (f64x2.add (local.get $qLo)
                (f64x2.mul (local.get $aLo) (f64x2.sub (f64x2.promote_low_f32x4 (local.get $vb)) (local.get $shLo)))))
              (local.set $qHi (f64x2.add (local.get $qHi)
                (f64x2.mul (local.get $aHi) (f64x2.sub (call $promote_high (local.get $vb)) (local.get $shHi)))))
              (local.set $o (i32.add (local.get $o) (local.get $stride)))
              (br $rows_loop)))))
        (v128.store (local.get $at) (local.get $sLo)) (v128.store offset=16 (local.get $at) (local.get $sHi))
        (v128.store (local.get $qAt) (local.get $qLo)) (v128.store offset=16 (local.get $qAt) (local.get $qHi))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $simd)))
      ;; the channels left over, one at a time
      (block $scalar_done (loop $scalar
        (br_if $scalar_done (i32.ge_u (local.get $c) (local.get $width)))
        (local.set $at (i32.add (local.get $acc) (i32.shl (local.get $c) (i32.const 3))))
        (local.set $qAt (i32.add (local.get $at) (i32.shl (local.get $width) (i32.const 3))))
        (local.set $ss (f64.load (local.get $at)))
        (local.set $qs (f64.load (local.get $qAt)))
        (local.set $sh (f64.promote_f32 (f32.load (i32.add (local.get $shift) (i32.shl (local.get $c) (i32.const 2))))))
        (local.set $o (i32.add (i32.mul (local.get $r) (local.get $stride)) (i32.shl (local.get $c) (i32.const 2))))
        (block $rows_done (loop $rows_loop
          (br_if $rows_done (i32.ge_u (local.get $o) (local.get $end)))
          (local.set $fa (f64.promote_f32 (f32.load (i32.add (local.get $a) (local.get $o)))))
          (if (i32.eqz (local.get $kind))
            (then
              (local.set $fd (f64.sub (local.get $fa) (local.get $sh)))
              (local.set $ss (f64.add (local.get $ss) (local.get $fd)))
              (local.set $qs (f64.add (local.get $qs) (f64.mul (local.get $fd) (local.get $fd)))))
            (else
              (local.set $ss (f64.add (local.get $ss) (local.get $fa)))
              (local.set $qs (f64.add (local.get $qs) (f64.mul (local.get $fa)
                (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $b) (local.get $o)))) (local.get $sh)))))))
          (local.set $o (i32.add (local.get $o) (local.get $stride)))
          (br $rows_loop)))
        (f64.store (local.get $at) (local.get $ss))
        (f64.store (local.get $qAt) (local.get $qs))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $scalar)))
      (local.set $r (local.get $rEnd))
      (br $chunks))))

  ;; Row chunks [k0, k1) of `chunks` (chunk k: rows k·rows/chunks ..< (k+1)·rows/chunks, rounded down): channelSums of
  ;; kind 0 or 1 over each, into acc + 16·width·k. The chunks depend on the shape only, never on how they are shared
  ;; between threads, so neither do the sums.
  (func $chunkSums (param $kind i32) (param $a i32) (param $b i32) (param $shift i32) (param $rows i32) (param $width i32)
        (param $k0 i32) (param $k1 i32) (param $chunks i32) (param $acc i32)
    (local $k i32)
    (local.set $k (local.get $k0))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $k) (local.get $k1)))
      (call $channelSums (local.get $kind) (local.get $a) (local.get $b) (local.get $shift)
        (i32.div_u (i32.mul (local.get $k) (local.get $rows)) (local.get $chunks))
        (i32.div_u (i32.mul (i32.add (local.get $k) (i32.const 1)) (local.get $rows)) (local.get $chunks))
        (local.get $width)
        (i32.add (local.get $acc) (i32.mul (local.get $k) (i32.shl (local.get $width) (i32.const 4)))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $each))))

  ;; The chunks' sums added up in chunk order, in place into chunk 0's.
  (func $addChunks (param $width i32) (param $chunks i32) (param $acc i32)
    (local $i i32) (local $k i32) (local $n i32) (local $sum f64)
    (local.set $n (i32.shl (local.get $width) (i32.const 1)))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $sum (f64.load (i32.add (local.get $acc) (i32.shl (local.get $i) (i32.const 3)))))
      (local.set $k (i32.const 1))
      (block $k_done (loop $k_each
        (br_if $k_done (i32.ge_u (local.get $k) (local.get $chunks)))
        (local.set $sum (f64.add (local.get $sum) (f64.load (i32.add (local.get $acc)
          (i32.shl (i32.add (local.get $i) (i32.mul (local.get $k) (local.get $n))) (i32.const 3))))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $k_each)))
      (f64.store (i32.add (local.get $acc) (i32.shl (local.get $i) (i32.const 3))) (local.get $sum))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each))))

  ;; Batch norm's sums, step 1 of 2, for row chunks [k0, k1) of x [rows, width] (see $chunkSums): per channel, around
  ;; the channel's value in row 0 (a large mean then cannot cancel the variance away). `acc`: 16·width·chunks bytes.
  (func (export "momentSums") (param $x i32) (param $rows i32) (param $width i32) (param $k0 i32) (param $k1 i32)
        (param $chunks i32) (param $acc i32)
    (call $chunkSums (i32.const 0) (local.get $x) (local.get $x) (local.get $x) (local.get $rows) (local.get $width)
      (local.get $k0) (local.get $k1) (local.get $chunks) (local.get $acc)))

  ;; Step 2 of 2, once every chunk is summed: mean and biased variance per channel, stored as float32.
  (func (export "moments") (param $x i32) (param $rows i32) (param $width i32) (param $chunks i32) (param $acc i32)
        (param $mean i32) (param $var i32)
    (local $c i32) (local $n f64) (local $m f64) (local $sh f64)
    (call $addChunks (local.get $width) (local.get $chunks) (local.get $acc))
    (local.set $n (f64.convert_i32_u (local.get $rows)))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $c) (local.get $width)))
      (local.set $sh (f64.promote_f32 (f32.load (i32.add (local.get $x) (i32.shl (local.get $c) (i32.const 2))))))
      (local.set $m (f64.div (f64.load (i32.add (local.get $acc) (i32.shl (local.get $c) (i32.const 3)))) (local.get $n)))
      (f32.store (i32.add (local.get $mean) (i32.shl (local.get $c) (i32.const 2)))
        (f32.demote_f64 (f64.add (local.get $sh) (local.get $m))))
      (f32.store (i32.add (local.get $var) (i32.shl (local.get $c) (i32.const 2)))
        (f32.demote_f64 (f64.max (f64.const 0)
          (f64.sub (f64.div (f64.load (i32.add (local.get $acc) (i32.shl (i32.add (local.get $c) (local.get $width)) (i32.const 3))))
            (local.get $n)) (f64.mul (local.get $m) (local.get $m))))))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $each))))

  ;; The gradient's sums, step 1 of 2, for row chunks [k0, k1) of dy and x [rows, width]: Σ dy and Σ dy·(x − mean[c])
  ;; per channel. `acc`: 16·width·chunks bytes.
  (func (export "gradientChunkSums") (param $dy i32) (param $x i32) (param $mean i32) (param $rows i32) (param $width i32)
        (param $k0 i32) (param $k1 i32) (param $chunks i32) (param $acc i32)
    (call $chunkSums (i32.const 1) (local.get $dy) (local.get $x) (local.get $mean) (local.get $rows) (local.get $width)
      (local.get $k0) (local.get $k1) (local.get $chunks) (local.get $acc)))

  ;; Step 2 of 2: the sums as float32 at sumDy[c], sumDyXm[c].
  (func (export "gradientSums") (param $width i32) (param $chunks i32) (param $acc i32) (param $sumDy i32) (param $sumDyXm i32)
    (local $c i32)
    (call $addChunks (local.get $width) (local.get $chunks) (local.get $acc))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $c) (local.get $width)))
      (f32.store (i32.add (local.get $sumDy) (i32.shl (local.get $c) (i32.const 2)))
        (f32.demote_f64 (f64.load (i32.add (local.get $acc) (i32.shl (local.get $c) (i32.const 3))))))
      (f32.store (i32.add (local.get $sumDyXm) (i32.shl (local.get $c) (i32.const 2)))
        (f32.demote_f64 (f64.load (i32.add (local.get $acc) (i32.shl (i32.add (local.get $c) (local.get $width)) (i32.const 3))))))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $each))))

  ;; Rows [r0, r1) of out [rows, width] = k1·a + k2·(x − k0) + k3 in float32, with k0..k3 per channel: coefficients
  ;; [k0 | k1 | k2 | k3], width floats each. Batch norm's normalisation is a = x, k1 = 0; its dx is a = dy.
  (func (export "affine") (param $a i32) (param $x i32) (param $k i32) (param $width i32) (param $r0 i32) (param $r1 i32)
        (param $out i32)
    (local $c i32) (local $o i32) (local $end i32) (local $kc i32) (local $cb i32) (local $stride4 i32)
    (local.set $stride4 (i32.shl (local.get $width) (i32.const 2)))
    (local.set $o (i32.mul (local.get $r0) (local.get $stride4)))
    (local.set $end (i32.mul (local.get $r1) (local.get $stride4)))
    (block $rows_done (loop $rows_loop
      (br_if $rows_done (i32.ge_u (local.get $o) (local.get $end)))
      (local.set $c (i32.const 0))
      (block $simd_done (loop $simd
        (br_if $simd_done (i32.gt_u (i32.add (local.get $c) (i32.const 4)) (local.get $width)))
        (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
        (local.set $kc (i32.add (local.get $k) (local.get $cb)))
        (v128.store (i32.add (local.get $out) (i32.add (local.get $o) (local.get $cb)))
          (f32x4.add
            (f32x4.add
              (f32x4.mul (v128.load (i32.add (local.get $kc) (local.get $stride4)))
                (v128.load (i32.add (local.get $a) (i32.add (local.get $o) (local.get $cb)))))
              (f32x4.mul (v128.load (i32.add (local.get $kc) (i32.shl (local.get $stride4) (i32.const 1))))
                (f32x4.sub (v128.load (i32.add (local.get $x) (i32.add (local.get $o) (local.get $cb))))
                  (v128.load (local.get $kc)))))
            (v128.load (i32.add (local.get $kc) (i32.mul (local.get $stride4) (i32.const 3))))))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $simd)))
      (block $tail_done (loop $tail
        (br_if $tail_done (i32.ge_u (local.get $c) (local.get $width)))
        (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
        (local.set $kc (i32.add (local.get $k) (local.get $cb)))
        (f32.store (i32.add (local.get $out) (i32.add (local.get $o) (local.get $cb)))
          (f32.add
            (f32.add
              (f32.mul (f32.load (i32.add (local.get $kc) (local.get $stride4)))
                (f32.load (i32.add (local.get $a) (i32.add (local.get $o) (local.get $cb)))))
              (f32.mul (f32.load (i32.add (local.get $kc) (i32.shl (local.get $stride4) (i32.const 1))))
                (f32.sub (f32.load (i32.add (local.get $x) (i32.add (local.get $o) (local.get $cb))))
                  (f32.load (local.get $kc)))))
            (f32.load (i32.add (local.get $kc) (i32.mul (local.get $stride4) (i32.const 3))))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $tail)))
      (local.set $o (i32.add (local.get $o) (local.get $stride4)))
      (br $rows_loop))))

  ;; Elements [i0, i1): out = x < 0 ? alpha·x : x (tfjs's LeakyRelu; NaN stays NaN).
  (func (export "leakyRelu") (param $x i32) (param $alpha f32) (param $out i32) (param $i0 i32) (param $i1 i32)
    (local $o i32) (local $end i32) (local $v v128) (local $a v128) (local $s f32)
    (local.set $a (f32x4.splat (local.get $alpha)))
    (local.set $o (i32.shl (local.get $i0) (i32.const 2)))
    (local.set $end (i32.shl (local.get $i1) (i32.const 2)))
    (block $simd_done (loop $simd
      (br_if $simd_done (i32.gt_u (i32.add (local.get $o) (i32.const 16)) (local.get $end)))
      (local.set $v (v128.load (i32.add (local.get $x) (local.get $o))))
      (v128.store (i32.add (local.get $out) (local.get $o))
        (v128.bitselect (f32x4.mul (local.get $a) (local.get $v)) (local.get $v)
          (f32x4.lt (local.get $v) (v128.const f32x4 0 0 0 0))))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $simd)))
    (block $done (loop $tail
      (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
      (local.set $s (f32.load (i32.add (local.get $x) (local.get $o))))
      (f32.store (i32.add (local.get $out) (local.get $o))
        (select (f32.mul (local.get $alpha) (local.get $s)) (local.get $s) (f32.lt (local.get $s) (f32.const 0))))
      (local.set $o (i32.add (local.get $o) (i32.const 4)))
      (br $tail))))

  ;; Elements [i0, i1): out = x > 0 ? dy : dy·alpha (tfjs-core's LeakyRelu gradient, where(x > 0, dy, dy·alpha)).
  (func (export "leakyReluGrad") (param $dy i32) (param $x i32) (param $alpha f32) (param $out i32) (param $i0 i32)
        (param $i1 i32)
    (local $o i32) (local $end i32) (local $g v128) (local $a v128) (local $s f32)
    (local.set $a (f32x4.splat (local.get $alpha)))
    (local.set $o (i32.shl (local.get $i0) (i32.const 2)))
    (local.set $end (i32.shl (local.get $i1) (i32.const 2)))
    (block $simd_done (loop $simd
      (br_if $simd_done (i32.gt_u (i32.add (local.get $o) (i32.const 16)) (local.get $end)))
      (local.set $g (v128.load (i32.add (local.get $dy) (local.get $o))))
      (v128.store (i32.add (local.get $out) (local.get $o))
        (v128.bitselect (local.get $g) (f32x4.mul (local.get $g) (local.get $a))
          (f32x4.gt (v128.load (i32.add (local.get $x) (local.get $o))) (v128.const f32x4 0 0 0 0))))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $simd)))
    (block $done (loop $tail
      (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
      (local.set $s (f32.load (i32.add (local.get $dy) (local.get $o))))
      (f32.store (i32.add (local.get $out) (local.get $o))
        (select (local.get $s) (f32.mul (local.get $s) (local.get $alpha))
          (f32.gt (f32.load (i32.add (local.get $x) (local.get $o))) (f32.const 0))))
      (local.set $o (i32.add (local.get $o) (i32.const 4)))
      (br $tail))))
  ;; Rows m in [m0, m1) of src [A, M, N] into dst [M, A, N]: dst[m, a, :] = src[a, m, :] (copies).
  (func (export "swapOuterAxes") (param $src i32) (param $dst i32) (param $A i32) (param $M i32) (param $N i32)
        (param $m0 i32) (param $m1 i32)
    (local $m i32) (local $a i32) (local $s i32) (local $d i32) (local $rowBytes i32) (local $srcStride i32) (local $k i32)
    (local.set $rowBytes (i32.shl (local.get $N) (i32.const 2)))
    (local.set $srcStride (i32.mul (local.get $M) (local.get $rowBytes)))
    (local.set $m (local.get $m0))
    (block $done (loop $rows
      (br_if $done (i32.ge_u (local.get $m) (local.get $m1)))
      (local.set $s (i32.add (local.get $src) (i32.mul (local.get $m) (local.get $rowBytes))))
      (local.set $d (i32.add (local.get $dst) (i32.mul (i32.mul (local.get $m) (local.get $A)) (local.get $rowBytes))))
      (local.set $a (i32.const 0))
      (block $a_done (loop $each_a
        (br_if $a_done (i32.ge_u (local.get $a) (local.get $A)))
        (local.set $k (i32.const 0))
        (block $v_done (loop $vectors
          (br_if $v_done (i32.gt_u (i32.add (local.get $k) (i32.const 16)) (local.get $rowBytes)))
          (v128.store (i32.add (local.get $d) (local.get $k)) (v128.load (i32.add (local.get $s) (local.get $k))))
          (local.set $k (i32.add (local.get $k) (i32.const 16)))
          (br $vectors)))
        (block $f_done (loop $floats
          (br_if $f_done (i32.ge_u (local.get $k) (local.get $rowBytes)))
          (f32.store (i32.add (local.get $d) (local.get $k)) (f32.load (i32.add (local.get $s) (local.get $k))))
          (local.set $k (i32.add (local.get $k) (i32.const 4)))
          (br $floats)))
        (local.set $s (i32.add (local.get $s) (local.get $srcStride)))
        (local.set $d (i32.add (local.get $d) (local.get $rowBytes)))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (br $each_a)))
      (local.set $m (i32.add (local.get $m) (i32.const 1)))
      (br $rows))))

;; src [rows, cols] (row stride srcStride) into dst [cols, rows] (row stride dstStride): dst[j, i] = src[i, j]. Strides
  ;; in elements. Four by four with SIMD shuffles, the edges one by one.
  (func $transpose2d (export "transpose2d") (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32)
        (param $srcStride i32) (param $dstStride i32)
    (local $i i32) (local $j i32) (local $s i32) (local $d i32) (local $ss i32) (local $ds i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128) (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $ss (i32.shl (local.get $srcStride) (i32.const 2)))
    (local.set $ds (i32.shl (local.get $dstStride) (i32.const 2)))
    (local.set $i (i32.const 0))
    (block $blocks_done (loop $row_blocks
      (br_if $blocks_done (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $rows)))
      (local.set $j (i32.const 0))
      (block $cols_done (loop $col_blocks
        (br_if $cols_done (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $cols)))
        (local.set $s (i32.add (local.get $src) (i32.add (i32.mul (local.get $i) (local.get $ss)) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $r0 (v128.load (local.get $s)))
        (local.set $r1 (v128.load (i32.add (local.get $s) (local.get $ss))))
        (local.set $r2 (v128.load (i32.add (local.get $s) (i32.shl (local.get $ss) (i32.const 1)))))
        (local.set $r3 (v128.load (i32.add (local.get $s) (i32.mul (local.get $ss) (i32.const 3)))))
        (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
        (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
        (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
        (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
        (local.set $d (i32.add (local.get $dst) (i32.add (i32.mul (local.get $j) (local.get $ds)) (i32.shl (local.get $i) (i32.const 2)))))
        (v128.store (local.get $d) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
        (v128.store (i32.add (local.get $d) (local.get $ds))
          (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
        (v128.store (i32.add (local.get $d) (i32.shl (local.get $ds) (i32.const 1)))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
        (v128.store (i32.add (local.get $d) (i32.mul (local.get $ds) (i32.const 3)))
          (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $col_blocks)))
      ;; columns left over in these four rows
      (call $transposeScalar (local.get $src) (local.get $dst) (local.get $i) (i32.add (local.get $i) (i32.const 4))
        (local.get $j) (local.get $cols) (local.get $ss) (local.get $ds))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $row_blocks)))
    ;; rows left over
    (call $transposeScalar (local.get $src) (local.get $dst) (local.get $i) (local.get $rows) (i32.const 0) (local.get $cols)
      (local.get $ss) (local.get $ds)))

  ;; dst[j, i] = src[i, j] for i in [i0, i1), j in [j0, j1); strides in bytes
  (func $transposeScalar (param $src i32) (param $dst i32) (param $i0 i32) (param $i1 i32) (param $j0 i32) (param $j1 i32)
        (param $ss i32) (param $ds i32)
    (local $i i32) (local $j i32)
    (local.set $i (local.get $i0))
    (block $i_done (loop $each_i
      (br_if $i_done (i32.ge_u (local.get $i) (local.get $i1)))
      (local.set $j (local.get $j0))
      (block $j_done (loop $each_j
        (br_if $j_done (i32.ge_u (local.get $j) (local.get $j1)))
        (f32.store (i32.add (local.get $dst) (i32.add (i32.mul (local.get $j) (local.get $ds)) (i32.shl (local.get $i) (i32.const 2))))
          (f32.load (i32.add (local.get $src) (i32.add (i32.mul (local.get $i) (local.get $ss)) (i32.shl (local.get $j) (i32.const 2))))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $each_j)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each_i))))

  ;; Rows m in [m0, m1) of src [A, M, N] into dst [N, M, A]: dst[n, m, a] = src[a, m, n] (copies).
  (func (export "swapFirstLastAxes") (param $src i32) (param $dst i32) (param $A i32) (param $M i32) (param $N i32)
        (param $m0 i32) (param $m1 i32)
    (local $m i32)
    (local.set $m (local.get $m0))
    (block $done (loop $rows
      (br_if $done (i32.ge_u (local.get $m) (local.get $m1)))
      ;; the [A, N] matrix src[:, m, :] (row stride M·N) into dst[:, m, :] (row stride M·A)
      (call $transpose2d
        (i32.add (local.get $src) (i32.shl (i32.mul (local.get $m) (local.get $N)) (i32.const 2)))
        (i32.add (local.get $dst) (i32.shl (i32.mul (local.get $m) (local.get $A)) (i32.const 2)))
        (local.get $A) (local.get $N) (i32.mul (local.get $M) (local.get $N)) (i32.mul (local.get $M) (local.get $A)))
      (local.set $m (i32.add (local.get $m) (i32.const 1)))
      (br $rows))))

    ;; Images b in [b0, b1) of one input-gradient phase, part [B, rowsH, rowsW, C], into dx [B, H, W, C]:
  ;; dx[b, firstH + i·sh, firstW + j·sw, :] = part[b, i, j, :] (copies).
  (func (export "scatterPhase") (param $part i32) (param $dx i32) (param $H i32) (param $W i32) (param $C i32)
        (param $sh i32) (param $sw i32) (param $firstH i32) (param $firstW i32) (param $rowsH i32) (param $rowsW i32)
        (param $b0 i32) (param $b1 i32)
    (local $b i32) (local $i i32) (local $j i32) (local $k i32) (local $s i32) (local $d i32) (local $row i32)
    (local $pixelBytes i32) (local $stepBytes i32)
    (local.set $pixelBytes (i32.shl (local.get $C) (i32.const 2)))
    (local.set $stepBytes (i32.mul (local.get $sw) (local.get $pixelBytes)))
    (local.set $s (i32.add (local.get $part)
      (i32.mul (i32.mul (i32.mul (local.get $b0) (local.get $rowsH)) (local.get $rowsW)) (local.get $pixelBytes))))
    (local.set $b (local.get $b0))
    (block $done (loop $images
      (br_if $done (i32.ge_u (local.get $b) (local.get $b1)))
      (local.set $i (i32.const 0))
      (block $i_done (loop $each_i
        (br_if $i_done (i32.ge_u (local.get $i) (local.get $rowsH)))
        ;; dx[b, firstH + i·sh, firstW, 0]
        (local.set $d (i32.add (local.get $dx) (i32.mul (local.get $pixelBytes)
          (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $H))
            (i32.add (local.get $firstH) (i32.mul (local.get $i) (local.get $sh)))) (local.get $W)) (local.get $firstW)))))
        (local.set $j (i32.const 0))
        (block $j_done (loop $each_j
          (br_if $j_done (i32.ge_u (local.get $j) (local.get $rowsW)))
          (local.set $k (i32.const 0))
          (block $v_done (loop $vectors
            (br_if $v_done (i32.gt_u (i32.add (local.get $k) (i32.const 16)) (local.get $pixelBytes)))
            (v128.store (i32.add (local.get $d) (local.get $k)) (v128.load (i32.add (local.get $s) (local.get $k))))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $vectors)))
          (block $f_done (loop $floats
            (br_if $f_done (i32.ge_u (local.get $k) (local.get $pixelBytes)))
            (f32.store (i32.add (local.get $d) (local.get $k)) (f32.load (i32.add (local.get $s) (local.get $k))))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $floats)))
          (local.set $s (i32.add (local.get $s) (local.get $pixelBytes)))
          (local.set $d (i32.add (local.get $d) (local.get $stepBytes)))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $each_j)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each_i)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $images))))
;; A convolution's filter gradient, taps t = kh·KW + kw in [t0, t1), straight from x [B, H, W, Ci] and dy [B, OH, OW, Co]
  ;; into dw [KH, KW, Ci, Co]: dw[kh, kw, ci, co] = Σ_b Σ_{oh, ow} x[b, oh·sh + kh − padTop, ow·sw + kw − padLeft, ci] ·
  ;; dy[b, oh, ow, co] over the positions inside x, in that order, in float32. No packing and no transposes: for layers
  ;; with few input channels (an RGB input) those cost more than the multiplications. Image after image, so that one
  ;; image's x and dy stay in the cache while every tap, input channel and block of output channels passes over them;
  ;; the sums wait in dw between images. (Groups of images, fewer passes over dw, measured slower: 11.1 against 9.5 ms for
  ;; d2l's second layer at 32 px; one image's x and dy fit the first-level cache.)
  (func (export "filterGradient") (param $x i32) (param $dy i32) (param $dw i32) (param $B i32) (param $H i32) (param $W i32)
        (param $Ci i32) (param $OH i32) (param $OW i32) (param $Co i32) (param $KW i32) (param $sh i32) (param $sw i32)
        (param $padTop i32) (param $padLeft i32) (param $t0 i32) (param $t1 i32)
    (local $t i32) (local $kh i32) (local $kw i32) (local $ci i32) (local $co i32) (local $b i32) (local $oh i32) (local $ow i32)
    (local $ih i32) (local $iw i32) (local $xp i32) (local $dp i32) (local $out i32) (local $width i32)
    (local $xImage i32) (local $dyImage i32) (local $owLo i32) (local $owHi i32) (local $xStep i32) (local $dStep i32)
    (local $pair i32) (local $out2 i32) (local $coStart i32) (local $cc i32) (local $ciEnd i32)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128) (local $u v128) (local $d v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $v v128)
    (local.set $xStep (i32.shl (i32.mul (local.get $sw) (local.get $Ci)) (i32.const 2)))
    (local.set $dStep (i32.shl (local.get $Co) (i32.const 2)))
    (local.set $b (i32.const 0))
    (block $b_done (loop $images
      (br_if $b_done (i32.ge_u (local.get $b) (local.get $B)))
      (local.set $xImage (i32.add (local.get $x) (i32.shl (i32.mul (i32.mul (i32.mul (local.get $b) (local.get $H)) (local.get $W))
        (local.get $Ci)) (i32.const 2))))
      (local.set $dyImage (i32.add (local.get $dy) (i32.shl (i32.mul (i32.mul (i32.mul (local.get $b) (local.get $OH)) (local.get $OW))
        (local.get $Co)) (i32.const 2))))
      (local.set $t (local.get $t0))
      (block $taps_done (loop $taps
        (br_if $taps_done (i32.ge_u (local.get $t) (local.get $t1)))
        (local.set $kh (i32.div_u (local.get $t) (local.get $KW)))
        (local.set $kw (i32.rem_u (local.get $t) (local.get $KW)))
        ;; the output columns whose input column ow·sw + kw − padLeft lies in [0, W): [owLo, owHi)
        (local.set $owLo (select
          (i32.div_u (i32.add (i32.sub (local.get $padLeft) (local.get $kw)) (i32.sub (local.get $sw) (i32.const 1))) (local.get $sw))
          (i32.const 0)
          (i32.gt_s (i32.sub (local.get $padLeft) (local.get $kw)) (i32.const 0))))
        (local.set $owHi (select
          (i32.const 0)
          (i32.add (i32.div_u (i32.sub (i32.add (local.get $W) (local.get $padLeft)) (i32.add (local.get $kw) (i32.const 1)))
            (local.get $sw)) (i32.const 1))
          (i32.lt_s (i32.sub (i32.add (local.get $W) (local.get $padLeft)) (i32.add (local.get $kw) (i32.const 1))) (i32.const 0))))
        (if (i32.gt_s (local.get $owHi) (local.get $OW)) (then (local.set $owHi (local.get $OW))))
        (local.set $ci (i32.const 0))
        (block $ci_done (loop $each_ci
          (br_if $ci_done (i32.ge_u (local.get $ci) (local.get $Ci)))
          ;; two input channels and 16 output channels at a time while both fit: each dy load feeds two products
          (local.set $pair (i32.le_u (i32.add (local.get $ci) (i32.const 2)) (local.get $Ci)))
          (local.set $co (i32.const 0))
          (if (local.get $pair) (then
            (block $pairs_done (loop $pairs
              (br_if $pairs_done (i32.gt_u (i32.add (local.get $co) (i32.const 16)) (local.get $Co)))
              (local.set $out (i32.add (local.get $dw) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $t) (local.get $Ci))
                (local.get $ci)) (local.get $Co)) (local.get $co)) (i32.const 2))))
              (local.set $out2 (i32.add (local.get $out) (i32.shl (local.get $Co) (i32.const 2))))
              (if (local.get $b)
                (then
                  (local.set $a0 (v128.load (local.get $out))) (local.set $a1 (v128.load offset=16 (local.get $out)))
                  (local.set $a2 (v128.load offset=32 (local.get $out))) (local.set $a3 (v128.load offset=48 (local.get $out)))
                  (local.set $b0 (v128.load (local.get $out2))) (local.set $b1 (v128.load offset=16 (local.get $out2)))
                  (local.set $b2 (v128.load offset=32 (local.get $out2))) (local.set $b3 (v128.load offset=48 (local.get $out2))))
                (else
                  (local.set $a0 (v128.const f32x4 0 0 0 0)) (local.set $a1 (v128.const f32x4 0 0 0 0))
                  (local.set $a2 (v128.const f32x4 0 0 0 0)) (local.set $a3 (v128.const f32x4 0 0 0 0))
                  (local.set $b0 (v128.const f32x4 0 0 0 0)) (local.set $b1 (v128.const f32x4 0 0 0 0))
                  (local.set $b2 (v128.const f32x4 0 0 0 0)) (local.set $b3 (v128.const f32x4 0 0 0 0))))
              (local.set $oh (i32.const 0))
              (block $poh_done (loop $pout_rows
                (br_if $poh_done (i32.ge_u (local.get $oh) (local.get $OH)))
                (local.set $ih (i32.sub (i32.add (i32.mul (local.get $oh) (local.get $sh)) (local.get $kh)) (local.get $padTop)))
                (if (i32.lt_u (local.get $ih) (local.get $H)) (then
                  (local.set $xp (i32.add (local.get $xImage) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $ih)
                    (local.get $W)) (i32.sub (i32.add (i32.mul (local.get $owLo) (local.get $sw)) (local.get $kw)) (local.get $padLeft)))
                    (local.get $Ci)) (local.get $ci)) (i32.const 2))))
                  (local.set $dp (i32.add (local.get $dyImage) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $oh)
                    (local.get $OW)) (local.get $owLo)) (local.get $Co)) (local.get $co)) (i32.const 2))))
                  (local.set $ow (local.get $owLo))
                  (block $p_done (loop $p
                    (br_if $p_done (i32.ge_s (local.get $ow) (local.get $owHi)))
                    (local.set $v (v128.load32_splat (local.get $xp)))
                    (local.set $u (v128.load32_splat offset=4 (local.get $xp)))
                    (local.set $d (v128.load (local.get $dp)))
                    (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $v) (local.get $d))))
                    (local.set $b0 (f32x4.add (local.get $b0) (f32x4.mul (local.get $u) (local.get $d))))
                    (local.set $d (v128.load offset=16 (local.get $dp)))
                    (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $v) (local.get $d))))
                    (local.set $b1 (f32x4.add (local.get $b1) (f32x4.mul (local.get $u) (local.get $d))))
                    (local.set $d (v128.load offset=32 (local.get $dp)))
                    (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $v) (local.get $d))))
                    (local.set $b2 (f32x4.add (local.get $b2) (f32x4.mul (local.get $u) (local.get $d))))
                    (local.set $d (v128.load offset=48 (local.get $dp)))
                    (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $v) (local.get $d))))
                    (local.set $b3 (f32x4.add (local.get $b3) (f32x4.mul (local.get $u) (local.get $d))))
                    (local.set $xp (i32.add (local.get $xp) (local.get $xStep)))
                    (local.set $dp (i32.add (local.get $dp) (local.get $dStep)))
                    (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
                    (br $p)))))
                (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
                (br $pout_rows)))
              (v128.store (local.get $out) (local.get $a0)) (v128.store offset=16 (local.get $out) (local.get $a1))
              (v128.store offset=32 (local.get $out) (local.get $a2)) (v128.store offset=48 (local.get $out) (local.get $a3))
              (v128.store (local.get $out2) (local.get $b0)) (v128.store offset=16 (local.get $out2) (local.get $b1))
              (v128.store offset=32 (local.get $out2) (local.get $b2)) (v128.store offset=48 (local.get $out2) (local.get $b3))
              (local.set $co (i32.add (local.get $co) (i32.const 16)))
              (br $pairs)))))
          ;; the rest one input channel at a time: all output channels of an unpaired channel, those left of a pair
          (local.set $coStart (local.get $co))
          (local.set $cc (local.get $ci))
          (local.set $ciEnd (i32.add (local.get $ci) (select (i32.const 2) (i32.const 1) (local.get $pair))))
          (block $cc_done (loop $each_cc
            (br_if $cc_done (i32.ge_u (local.get $cc) (local.get $ciEnd)))
            (local.set $co (local.get $coStart))
            (block $co_done (loop $co_blocks
              (br_if $co_done (i32.ge_u (local.get $co) (local.get $Co)))
              ;; 16, 4 or 1 output channels at a time
              (local.set $width (select (i32.const 16)
                (select (i32.const 4) (i32.const 1) (i32.ge_u (i32.sub (local.get $Co) (local.get $co)) (i32.const 4)))
                (i32.ge_u (i32.sub (local.get $Co) (local.get $co)) (i32.const 16))))
              ;; dw[kh, kw, ci, co ..]: zero before the first image, the sums so far after
              (local.set $out (i32.add (local.get $dw) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $t) (local.get $Ci))
                (local.get $cc)) (local.get $Co)) (local.get $co)) (i32.const 2))))
              (local.set $a0 (v128.const f32x4 0 0 0 0)) (local.set $a1 (v128.const f32x4 0 0 0 0))
              (local.set $a2 (v128.const f32x4 0 0 0 0)) (local.set $a3 (v128.const f32x4 0 0 0 0))
              (if (local.get $b) (then
                (if (i32.eq (local.get $width) (i32.const 16))
                  (then
                    (local.set $a0 (v128.load (local.get $out))) (local.set $a1 (v128.load offset=16 (local.get $out)))
                    (local.set $a2 (v128.load offset=32 (local.get $out))) (local.set $a3 (v128.load offset=48 (local.get $out))))
                  (else (if (i32.eq (local.get $width) (i32.const 4))
                    (then (local.set $a0 (v128.load (local.get $out))))
                    (else (local.set $a0 (f32x4.replace_lane 0 (local.get $a0) (f32.load (local.get $out))))))))))
              (local.set $oh (i32.const 0))
              (block $oh_done (loop $out_rows
                (br_if $oh_done (i32.ge_u (local.get $oh) (local.get $OH)))
                (local.set $ih (i32.sub (i32.add (i32.mul (local.get $oh) (local.get $sh)) (local.get $kh)) (local.get $padTop)))
                (if (i32.lt_u (local.get $ih) (local.get $H)) (then
                  ;; columns owLo .. owHi − 1 read inside x
                  (local.set $xp (i32.add (local.get $xImage) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $ih)
                    (local.get $W)) (i32.sub (i32.add (i32.mul (local.get $owLo) (local.get $sw)) (local.get $kw)) (local.get $padLeft)))
                    (local.get $Ci)) (local.get $cc)) (i32.const 2))))
                  (local.set $dp (i32.add (local.get $dyImage) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $oh)
                    (local.get $OW)) (local.get $owLo)) (local.get $Co)) (local.get $co)) (i32.const 2))))
                  (local.set $ow (local.get $owLo))
                  (if (i32.eq (local.get $width) (i32.const 16))
                    (then
                      (block $w16_done (loop $w16
                        (br_if $w16_done (i32.ge_s (local.get $ow) (local.get $owHi)))
                        (local.set $v (v128.load32_splat (local.get $xp)))
                        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $v) (v128.load (local.get $dp)))))
                        (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $v) (v128.load offset=16 (local.get $dp)))))
                        (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $v) (v128.load offset=32 (local.get $dp)))))
                        (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $v) (v128.load offset=48 (local.get $dp)))))
                        (local.set $xp (i32.add (local.get $xp) (local.get $xStep)))
                        (local.set $dp (i32.add (local.get $dp) (local.get $dStep)))
                        (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
                        (br $w16))))
                    (else (if (i32.eq (local.get $width) (i32.const 4))
                      (then
                        (block $w4_done (loop $w4
                          (br_if $w4_done (i32.ge_s (local.get $ow) (local.get $owHi)))
                          (local.set $a0 (f32x4.add (local.get $a0)
                            (f32x4.mul (v128.load32_splat (local.get $xp)) (v128.load (local.get $dp)))))
                          (local.set $xp (i32.add (local.get $xp) (local.get $xStep)))
                          (local.set $dp (i32.add (local.get $dp) (local.get $dStep)))
                          (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
                          (br $w4))))
                      (else
                        (block $w1_done (loop $w1
                          (br_if $w1_done (i32.ge_s (local.get $ow) (local.get $owHi)))
                          (local.set $a0 (f32x4.replace_lane 0 (local.get $a0) (f32.add (f32x4.extract_lane 0 (local.get $a0))
                            (f32.mul (f32.load (local.get $xp)) (f32.load (local.get $dp))))))
                          (local.set $xp (i32.add (local.get $xp) (local.get $xStep)))
                          (local.set $dp (i32.add (local.get $dp) (local.get $dStep)))
                          (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
                          (br $w1)))))))))
                (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
                (br $out_rows)))
              (if (i32.eq (local.get $width) (i32.const 16))
                (then
                  (v128.store (local.get $out) (local.get $a0)) (v128.store offset=16 (local.get $out) (local.get $a1))
                  (v128.store offset=32 (local.get $out) (local.get $a2)) (v128.store offset=48 (local.get $out) (local.get $a3)))
                (else (if (i32.eq (local.get $width) (i32.const 4))
                  (then (v128.store (local.get $out) (local.get $a0)))
                  (else (f32.store (local.get $out) (f32x4.extract_lane 0 (local.get $a0)))))))
              (local.set $co (i32.add (local.get $co) (local.get $width)))
              (br $co_blocks)))

            (local.set $cc (i32.add (local.get $cc) (i32.const 1)))
            (br $each_cc)))
          (local.set $ci (local.get $ciEnd))
          (br $each_ci)))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $taps)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $images))))
  ;; Images b in [b0, b1) of the combined input gradient, conv [B, convH, convW, sh·sw·C] (each phase's C channels side by
  ;; side), into dx [B, H, W, C]: dx[b, ih, iw, :] = conv[b, zh div sh, zw div sw, ((zh mod sh)·sw + zw mod sw)·C ..]
  ;; with zh = ih + offH, zw = iw + offW (copies).
  (func (export "interleavePhases") (param $conv i32) (param $dx i32) (param $H i32) (param $W i32) (param $C i32)
        (param $sh i32) (param $sw i32) (param $offH i32) (param $offW i32) (param $convW i32) (param $convH i32)
        (param $b0 i32) (param $b1 i32)
    (local $b i32) (local $ih i32) (local $iw i32) (local $zh i32) (local $r i32) (local $k i32) (local $row i32)
    (local $s i32) (local $d i32) (local $phaseC i32) (local $pixelBytes i32)
    (local.set $phaseC (i32.mul (i32.mul (local.get $sh) (local.get $sw)) (local.get $C)))
    (local.set $pixelBytes (i32.shl (local.get $C) (i32.const 2)))
    (local.set $d (i32.add (local.get $dx) (i32.mul (i32.mul (i32.mul (local.get $b0) (local.get $H)) (local.get $W)) (local.get $pixelBytes))))
    (local.set $b (local.get $b0))
    (block $done (loop $images
      (br_if $done (i32.ge_u (local.get $b) (local.get $b1)))
      (local.set $ih (i32.const 0))
      (block $h_done (loop $rows
        (br_if $h_done (i32.ge_u (local.get $ih) (local.get $H)))
        (local.set $zh (i32.add (local.get $ih) (local.get $offH)))
        ;; conv[b, zh div sh, 0, (zh mod sh)·sw·C]
        (local.set $row (i32.add (local.get $conv) (i32.shl (i32.add
          (i32.mul (i32.add (i32.mul (local.get $b) (local.get $convH)) (i32.div_u (local.get $zh) (local.get $sh)))
            (i32.mul (local.get $convW) (local.get $phaseC)))
          (i32.mul (i32.mul (i32.rem_u (local.get $zh) (local.get $sh)) (local.get $sw)) (local.get $C))) (i32.const 2))))
        ;; the source pixel of column 0, then column after column without a division: zw = iw + offW runs through the
        ;; phases r = zw mod sw of pixel q = zw div sw, C floats apart, and on to pixel q + 1, phaseC floats from q
        (local.set $r (i32.rem_u (local.get $offW) (local.get $sw)))
        (local.set $s (i32.add (local.get $row) (i32.shl (i32.add (i32.mul (i32.div_u (local.get $offW) (local.get $sw))
          (local.get $phaseC)) (i32.mul (local.get $r) (local.get $C))) (i32.const 2))))
        (local.set $iw (i32.const 0))
        (block $w_done (loop $cols
          (br_if $w_done (i32.ge_u (local.get $iw) (local.get $W)))
          (local.set $k (i32.const 0))
          (block $c_done (loop $floats
            (br_if $c_done (i32.ge_u (local.get $k) (local.get $pixelBytes)))
            (f32.store (i32.add (local.get $d) (local.get $k)) (f32.load (i32.add (local.get $s) (local.get $k))))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $floats)))
          (local.set $s (i32.add (local.get $s) (local.get $pixelBytes)))
          (local.set $r (i32.add (local.get $r) (i32.const 1)))
          (if (i32.eq (local.get $r) (local.get $sw)) (then
            (local.set $r (i32.const 0))
            (local.set $s (i32.add (local.get $s) (i32.shl (i32.sub (local.get $phaseC) (i32.mul (local.get $sw) (local.get $C)))
              (i32.const 2))))))
          (local.set $d (i32.add (local.get $d) (local.get $pixelBytes)))
          (local.set $iw (i32.add (local.get $iw) (i32.const 1)))
          (br $cols)))
        (local.set $ih (i32.add (local.get $ih) (i32.const 1)))
        (br $rows)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $images))))
  ;; A convolution's input gradient, images b in [b0, b1): dx [B, H, W, Ci] from dy [B, OH, OW, Co] and the filter with
  ;; each tap's matrix transposed, wT [KH, KW, Co, Ci]: dx[b, ih, iw, ci] = Σ_{kh, kw, co} dy[b, oh, ow, co] ·
  ;; wT[kh, kw, co, ci] over the taps with ih = oh·sh + kh − padTop and iw = ow·sw + kw − padLeft, oh and ow inside dy,
  ;; in that order, in float32. Ci must be a multiple of 16. Two pixels of a row that read the same taps (iw and
  ;; iw + sw) go together, sixteen input channels at a time: each filter load feeds two products. Where a tap lies
  ;; outside dy for one of the two, that pixel reads `zeros` (Co zero floats) instead.
  (func (export "inputGradient") (param $dy i32) (param $wT i32) (param $dx i32) (param $zeros i32) (param $H i32)
        (param $W i32) (param $Ci i32) (param $OH i32) (param $OW i32) (param $Co i32) (param $KH i32) (param $KW i32)
        (param $sh i32) (param $sw i32) (param $padTop i32) (param $padLeft i32) (param $b0 i32) (param $b1 i32)
    (local $b i32) (local $ih i32) (local $iw i32) (local $rw i32) (local $ci i32) (local $kh i32) (local $kw i32)
    (local $oh i32) (local $owA i32) (local $owB i32) (local $co i32) (local $dyRow i32) (local $pA i32) (local $pB i32)
    (local $wp i32) (local $outA i32) (local $hasB i32) (local $numH i32) (local $numW i32) (local $tapStride i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
    (local $sA v128) (local $sB v128) (local $w v128)
    ;; bytes between one co row of wT and the next: Ci floats; between taps: Co·Ci floats
    (local.set $tapStride (i32.shl (i32.mul (local.get $Co) (local.get $Ci)) (i32.const 2)))
    (local.set $b (local.get $b0))
    (block $b_done (loop $images
      (br_if $b_done (i32.ge_u (local.get $b) (local.get $b1)))
      (local.set $ih (i32.const 0))
      (block $ih_done (loop $rows
        (br_if $ih_done (i32.ge_u (local.get $ih) (local.get $H)))
        (local.set $numH (i32.add (local.get $ih) (local.get $padTop)))
        (local.set $rw (i32.const 0))
        (block $rw_done (loop $phases
          (br_if $rw_done (i32.ge_u (local.get $rw) (local.get $sw)))
          (local.set $iw (local.get $rw))
          (block $iw_done (loop $pixels
            (br_if $iw_done (i32.ge_u (local.get $iw) (local.get $W)))
            (local.set $hasB (i32.lt_u (i32.add (local.get $iw) (local.get $sw)) (local.get $W)))
            (local.set $numW (i32.add (local.get $iw) (local.get $padLeft)))
            (local.set $ci (i32.const 0))
            (block $ci_done (loop $ci_blocks
              (br_if $ci_done (i32.ge_u (local.get $ci) (local.get $Ci)))
              (local.set $a0 (v128.const f32x4 0 0 0 0)) (local.set $a1 (v128.const f32x4 0 0 0 0))
              (local.set $a2 (v128.const f32x4 0 0 0 0)) (local.set $a3 (v128.const f32x4 0 0 0 0))
              (local.set $c0 (v128.const f32x4 0 0 0 0)) (local.set $c1 (v128.const f32x4 0 0 0 0))
              (local.set $c2 (v128.const f32x4 0 0 0 0)) (local.set $c3 (v128.const f32x4 0 0 0 0))
              ;; taps kh with ih + padTop − kh = oh·sh, oh in [0, OH)
              (local.set $kh (i32.rem_u (local.get $numH) (local.get $sh)))
              (block $kh_done (loop $taps_h
                (br_if $kh_done (i32.ge_u (local.get $kh) (local.get $KH)))
                (if (i32.ge_u (local.get $numH) (local.get $kh)) (then
                  (local.set $oh (i32.div_u (i32.sub (local.get $numH) (local.get $kh)) (local.get $sh)))
                  (if (i32.lt_u (local.get $oh) (local.get $OH)) (then
                    (local.set $dyRow (i32.add (local.get $dy) (i32.shl (i32.mul (i32.mul (i32.add (i32.mul (local.get $b)
                      (local.get $OH)) (local.get $oh)) (local.get $OW)) (local.get $Co)) (i32.const 2))))
                    (local.set $kw (i32.rem_u (local.get $numW) (local.get $sw)))
                    (block $kw_done (loop $taps_w
                      (br_if $kw_done (i32.ge_u (local.get $kw) (local.get $KW)))
                      ;; ow of pixel A (iw) and of pixel B (iw + sw, one further): inside dy, or zeros
                      (local.set $owA (select (i32.div_u (i32.sub (local.get $numW) (local.get $kw)) (local.get $sw)) (i32.const -1)
                        (i32.ge_u (local.get $numW) (local.get $kw))))
                      (local.set $owB (select (i32.div_u (i32.sub (i32.add (local.get $numW) (local.get $sw)) (local.get $kw))
                        (local.get $sw)) (i32.const -1) (i32.ge_u (i32.add (local.get $numW) (local.get $sw)) (local.get $kw))))
                      (local.set $pA (select
                        (i32.add (local.get $dyRow) (i32.shl (i32.mul (local.get $owA) (local.get $Co)) (i32.const 2)))
                        (local.get $zeros) (i32.lt_u (local.get $owA) (local.get $OW))))
                      (local.set $pB (select
                        (i32.add (local.get $dyRow) (i32.shl (i32.mul (local.get $owB) (local.get $Co)) (i32.const 2)))
                        (local.get $zeros) (i32.and (local.get $hasB) (i32.lt_u (local.get $owB) (local.get $OW)))))
                      (if (i32.or (i32.lt_u (local.get $owA) (local.get $OW))
                          (i32.and (local.get $hasB) (i32.lt_u (local.get $owB) (local.get $OW)))) (then
                        ;; wT[kh, kw, 0, ci]
                        (local.set $wp (i32.add (local.get $wT) (i32.add
                          (i32.mul (i32.add (i32.mul (local.get $kh) (local.get $KW)) (local.get $kw)) (local.get $tapStride))
                          (i32.shl (local.get $ci) (i32.const 2)))))
                        (local.set $co (i32.const 0))
                        (block $co_done (loop $each_co
                          (br_if $co_done (i32.ge_u (local.get $co) (local.get $Co)))
                          (local.set $sA (v128.load32_splat (local.get $pA)))
                          (local.set $sB (v128.load32_splat (local.get $pB)))
                          (local.set $w (v128.load (local.get $wp)))
                          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $sA) (local.get $w))))
                          (local.set $c0 (f32x4.add (local.get $c0) (f32x4.mul (local.get $sB) (local.get $w))))
                          (local.set $w (v128.load offset=16 (local.get $wp)))
                          (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $sA) (local.get $w))))
                          (local.set $c1 (f32x4.add (local.get $c1) (f32x4.mul (local.get $sB) (local.get $w))))
                          (local.set $w (v128.load offset=32 (local.get $wp)))
                          (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $sA) (local.get $w))))
                          (local.set $c2 (f32x4.add (local.get $c2) (f32x4.mul (local.get $sB) (local.get $w))))
                          (local.set $w (v128.load offset=48 (local.get $wp)))
                          (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $sA) (local.get $w))))
                          (local.set $c3 (f32x4.add (local.get $c3) (f32x4.mul (local.get $sB) (local.get $w))))
                          ;; `zeros` holds Co zeros, so a pixel outside dy walks along it as the other walks along dy
                          (local.set $pA (i32.add (local.get $pA) (i32.const 4)))
                          (local.set $pB (i32.add (local.get $pB) (i32.const 4)))
                          (local.set $wp (i32.add (local.get $wp) (i32.shl (local.get $Ci) (i32.const 2))))
                          (local.set $co (i32.add (local.get $co) (i32.const 1)))
                          (br $each_co)))))
                      (local.set $kw (i32.add (local.get $kw) (local.get $sw)))
                      (br $taps_w)))))))
                (local.set $kh (i32.add (local.get $kh) (local.get $sh)))
                (br $taps_h)))
              ;; dx[b, ih, iw, ci ..] and, if there, dx[b, ih, iw + sw, ci ..]
              (local.set $outA (i32.add (local.get $dx) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b)
                (local.get $H)) (local.get $ih)) (local.get $W)) (local.get $iw)) (local.get $Ci)) (local.get $ci)) (i32.const 2))))
              (v128.store (local.get $outA) (local.get $a0)) (v128.store offset=16 (local.get $outA) (local.get $a1))
              (v128.store offset=32 (local.get $outA) (local.get $a2)) (v128.store offset=48 (local.get $outA) (local.get $a3))
              (if (local.get $hasB) (then
                (local.set $outA (i32.add (local.get $outA) (i32.shl (i32.mul (local.get $sw) (local.get $Ci)) (i32.const 2))))
                (v128.store (local.get $outA) (local.get $c0)) (v128.store offset=16 (local.get $outA) (local.get $c1))
                (v128.store offset=32 (local.get $outA) (local.get $c2)) (v128.store offset=48 (local.get $outA) (local.get $c3))))
              (local.set $ci (i32.add (local.get $ci) (i32.const 16)))
              (br $ci_blocks)))
            (local.set $iw (i32.add (local.get $iw) (i32.shl (local.get $sw) (i32.const 1))))
            (br $pixels)))
          (local.set $rw (i32.add (local.get $rw) (i32.const 1)))
          (br $phases)))
        (local.set $ih (i32.add (local.get $ih) (i32.const 1)))
        (br $rows)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $images))))
  ;; Elements [i0, i1) of one Adam step (adam-update.ts), each operation rounded to float32 in the order tfjs's ops take:
  ;;   m' = m·b1 + g·omb1,  v' = v·b2 + (g·g)·omb2,  w' = w − (m'·k) / (√v' / c + eps)
  (func (export "adamUpdate") (param $w i32) (param $g i32) (param $m i32) (param $v i32) (param $wOut i32) (param $mOut i32)
        (param $vOut i32) (param $b1 f32) (param $omb1 f32) (param $b2 f32) (param $omb2 f32) (param $k f32) (param $c f32)
        (param $eps f32) (param $i0 i32) (param $i1 i32)
    (local $o i32) (local $end i32) (local $gv v128) (local $mv v128) (local $vv v128)
    (local $B1 v128) (local $OMB1 v128) (local $B2 v128) (local $OMB2 v128) (local $K v128) (local $C v128) (local $E v128)
    (local $gs f32) (local $ms f32) (local $vs f32)
    (local.set $B1 (f32x4.splat (local.get $b1))) (local.set $OMB1 (f32x4.splat (local.get $omb1)))
    (local.set $B2 (f32x4.splat (local.get $b2))) (local.set $OMB2 (f32x4.splat (local.get $omb2)))
    (local.set $K (f32x4.splat (local.get $k))) (local.set $C (f32x4.splat (local.get $c))) (local.set $E (f32x4.splat (local.get $eps)))
    (local.set $o (i32.shl (local.get $i0) (i32.const 2)))
    (local.set $end (i32.shl (local.get $i1) (i32.const 2)))
    (block $simd_done (loop $simd
      (br_if $simd_done (i32.gt_u (i32.add (local.get $o) (i32.const 16)) (local.get $end)))
      (local.set $gv (v128.load (i32.add (local.get $g) (local.get $o))))
      (local.set $mv (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $o))) (local.get $B1))
        (f32x4.mul (local.get $gv) (local.get $OMB1))))
      (local.set $vv (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $o))) (local.get $B2))
        (f32x4.mul (f32x4.mul (local.get $gv) (local.get $gv)) (local.get $OMB2))))
      (v128.store (i32.add (local.get $mOut) (local.get $o)) (local.get $mv))
      (v128.store (i32.add (local.get $vOut) (local.get $o)) (local.get $vv))
      (v128.store (i32.add (local.get $wOut) (local.get $o))
        (f32x4.sub (v128.load (i32.add (local.get $w) (local.get $o)))
          (f32x4.div (f32x4.mul (local.get $mv) (local.get $K))
            (f32x4.add (f32x4.div (f32x4.sqrt (local.get $vv)) (local.get $C)) (local.get $E)))))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $simd)))
    (block $done (loop $tail
      (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
      (local.set $gs (f32.load (i32.add (local.get $g) (local.get $o))))
      (local.set $ms (f32.add (f32.mul (f32.load (i32.add (local.get $m) (local.get $o))) (local.get $b1))
        (f32.mul (local.get $gs) (local.get $omb1))))
      (local.set $vs (f32.add (f32.mul (f32.load (i32.add (local.get $v) (local.get $o))) (local.get $b2))
        (f32.mul (f32.mul (local.get $gs) (local.get $gs)) (local.get $omb2))))
      (f32.store (i32.add (local.get $mOut) (local.get $o)) (local.get $ms))
      (f32.store (i32.add (local.get $vOut) (local.get $o)) (local.get $vs))
      (f32.store (i32.add (local.get $wOut) (local.get $o))
        (f32.sub (f32.load (i32.add (local.get $w) (local.get $o)))
          (f32.div (f32.mul (local.get $ms) (local.get $k))
            (f32.add (f32.div (f32.sqrt (local.get $vs)) (local.get $c)) (local.get $eps)))))
      (local.set $o (i32.add (local.get $o) (i32.const 4)))
      (br $tail))))
  ;; The input gradient where dy is 1×1 (a block from a latent vector), dx pixels p in [p0, p1) of [B, H·W, Ci]:
  ;; dx[b, p, ci] = Σ_co dy[b, co] · wT[ih + padTop, iw + padLeft, co, ci] with p = ih·W + iw, zero where that tap lies
  ;; outside the kernel. Pixel after pixel, so that one tap's weights (Co·Ci floats) stay in the cache for every image;
  ;; two images at a time, sixteen input channels at a time (Ci a multiple of 16), each weight load feeding two products.
  (func (export "inputGradientFromPoint") (param $dy i32) (param $wT i32) (param $dx i32) (param $B i32) (param $H i32)
        (param $W i32) (param $Ci i32) (param $Co i32) (param $KH i32) (param $KW i32) (param $padTop i32) (param $padLeft i32)
        (param $p0 i32) (param $p1 i32)
    (local $p i32) (local $kh i32) (local $kw i32) (local $b i32) (local $ci i32) (local $co i32) (local $tap i32)
    (local $wp i32) (local $pA i32) (local $pB i32) (local $outA i32) (local $hasB i32) (local $pixelStride i32) (local $k i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128) (local $sA v128) (local $sB v128) (local $w v128)
    ;; bytes from one image's dx to the next: H·W·Ci floats
    (local.set $pixelStride (i32.shl (i32.mul (i32.mul (local.get $H) (local.get $W)) (local.get $Ci)) (i32.const 2)))
    (local.set $p (local.get $p0))
    (block $p_done (loop $pixels
      (br_if $p_done (i32.ge_u (local.get $p) (local.get $p1)))
      (local.set $kh (i32.add (i32.div_u (local.get $p) (local.get $W)) (local.get $padTop)))
      (local.set $kw (i32.add (i32.rem_u (local.get $p) (local.get $W)) (local.get $padLeft)))
      (local.set $tap (i32.and (i32.lt_u (local.get $kh) (local.get $KH)) (i32.lt_u (local.get $kw) (local.get $KW))))
      (local.set $b (i32.const 0))
      (block $b_done (loop $images
        (br_if $b_done (i32.ge_u (local.get $b) (local.get $B)))
        (local.set $hasB (i32.lt_u (i32.add (local.get $b) (i32.const 1)) (local.get $B)))
        (local.set $ci (i32.const 0))
        (block $ci_done (loop $ci_blocks
          (br_if $ci_done (i32.ge_u (local.get $ci) (local.get $Ci)))
          (local.set $a0 (v128.const f32x4 0 0 0 0)) (local.set $a1 (v128.const f32x4 0 0 0 0))
          (local.set $a2 (v128.const f32x4 0 0 0 0)) (local.set $a3 (v128.const f32x4 0 0 0 0))
          (local.set $c0 (v128.const f32x4 0 0 0 0)) (local.set $c1 (v128.const f32x4 0 0 0 0))
          (local.set $c2 (v128.const f32x4 0 0 0 0)) (local.set $c3 (v128.const f32x4 0 0 0 0))
          (if (local.get $tap) (then
            ;; wT[kh, kw, 0, ci]; dy[b, 0] and dy[b + 1, 0] (image b again when there is no b + 1; its sums are dropped)
            (local.set $wp (i32.add (local.get $wT) (i32.shl (i32.add (i32.mul (i32.mul (i32.add (i32.mul (local.get $kh)
              (local.get $KW)) (local.get $kw)) (local.get $Co)) (local.get $Ci)) (local.get $ci)) (i32.const 2))))
            (local.set $pA (i32.add (local.get $dy) (i32.shl (i32.mul (local.get $b) (local.get $Co)) (i32.const 2))))
            (local.set $pB (select (i32.add (local.get $pA) (i32.shl (local.get $Co) (i32.const 2))) (local.get $pA)
              (local.get $hasB)))
            (local.set $co (i32.const 0))
            (block $co_done (loop $each_co
              (br_if $co_done (i32.ge_u (local.get $co) (local.get $Co)))
              (local.set $sA (v128.load32_splat (local.get $pA)))
              (local.set $sB (v128.load32_splat (local.get $pB)))
              (local.set $w (v128.load (local.get $wp)))
              (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $sA) (local.get $w))))
              (local.set $c0 (f32x4.add (local.get $c0) (f32x4.mul (local.get $sB) (local.get $w))))
              (local.set $w (v128.load offset=16 (local.get $wp)))
              (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $sA) (local.get $w))))
              (local.set $c1 (f32x4.add (local.get $c1) (f32x4.mul (local.get $sB) (local.get $w))))
              (local.set $w (v128.load offset=32 (local.get $wp)))
              (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $sA) (local.get $w))))
              (local.set $c2 (f32x4.add (local.get $c2) (f32x4.mul (local.get $sB) (local.get $w))))
              (local.set $w (v128.load offset=48 (local.get $wp)))
              (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $sA) (local.get $w))))
              (local.set $c3 (f32x4.add (local.get $c3) (f32x4.mul (local.get $sB) (local.get $w))))
              (local.set $pA (i32.add (local.get $pA) (i32.const 4)))
              (local.set $pB (i32.add (local.get $pB) (i32.const 4)))
              (local.set $wp (i32.add (local.get $wp) (i32.shl (local.get $Ci) (i32.const 2))))
              (local.set $co (i32.add (local.get $co) (i32.const 1)))
              (br $each_co)))))
          ;; dx[b, p, ci ..] and dx[b + 1, p, ci ..]
          (local.set $outA (i32.add (local.get $dx) (i32.add (i32.mul (local.get $b) (local.get $pixelStride))
            (i32.shl (i32.add (i32.mul (local.get $p) (local.get $Ci)) (local.get $ci)) (i32.const 2)))))
          (v128.store (local.get $outA) (local.get $a0)) (v128.store offset=16 (local.get $outA) (local.get $a1))
          (v128.store offset=32 (local.get $outA) (local.get $a2)) (v128.store offset=48 (local.get $outA) (local.get $a3))
          (if (local.get $hasB) (then
            (local.set $outA (i32.add (local.get $outA) (local.get $pixelStride)))
            (v128.store (local.get $outA) (local.get $c0)) (v128.store offset=16 (local.get $outA) (local.get $c1))
            (v128.store offset=32 (local.get $outA) (local.get $c2)) (v128.store offset=48 (local.get $outA) (local.get $c3))))
          (local.set $ci (i32.add (local.get $ci) (i32.const 16)))
          (br $ci_blocks)))
        (local.set $b (i32.add (local.get $b) (i32.const 2)))
        (br $images)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $pixels))))
)
