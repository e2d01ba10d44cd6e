//! The 16-bit formats as bits, with no crate: float16 (IEEE binary16: 5 exponent bits,
//! 11 significand bits) and bfloat16 (8 exponent bits, 8 significand bits: the upper half
//! of an f32).  Values travel as f64; a result is rounded once, to nearest even.

use crate::kernels::Dtype;

/// (significand bits, the implicit one included; exponent bias) of a 16-bit format.
fn format(dtype: Dtype) -> (i32, i32) {
    match dtype {
        Dtype::Float16 => (11, 15),
        _ => (8, 127),
    }
}

/// The value of 16 bits of `dtype`.
pub fn from_bits(bits: u16, dtype: Dtype) -> f64 {
    let (digits, bias) = format(dtype);
    let mantissa = u32::from(bits) & ((1 << (digits - 1)) - 1);
    let all_ones = (1u32 << (16 - digits)) - 1;
    let exponent = (u32::from(bits) >> (digits - 1)) & all_ones;
    let value = if exponent == 0 {
        f64::from(mantissa) * 2f64.powi(1 - bias - (digits - 1)) // subnormal
    } else if exponent == all_ones {
        if mantissa != 0 {
            f64::NAN
        } else {
            f64::INFINITY
        }
    } else {
        f64::from(mantissa | 1 << (digits - 1)) * 2f64.powi(exponent as i32 - bias - (digits - 1))
    };
    if bits & 0x8000 != 0 {
        -value
    } else {
        value
    }
}

/// `value` rounded once, to nearest even, to `dtype` (infinity past its largest value).
pub fn to_bits(value: f64, dtype: Dtype) -> u16 {
    let (digits, bias) = format(dtype);
    let sign: u16 = if value.is_sign_negative() { 0x8000 } else { 0 };
    let infinity = (((1u32 << (16 - digits)) - 1) << (digits - 1)) as u16;
    if value.is_nan() {
        return infinity | 1 << (digits - 2);
    }
    let magnitude = value.abs();
    let exponent = ((magnitude.to_bits() >> 52) & 0x7ff) as i32 - 1023; // of its leading bit
    if exponent > bias {
        return sign | infinity;
    }
    // The value in units of the format's last place at this magnitude (the subnormals'
    // below the smallest normal): exact, a power of two apart.
    let quantum = exponent.max(1 - bias) - (digits - 1);
    let scaled = magnitude * 2f64.powi(-quantum);
    let mut units = scaled.floor();
    let rest = scaled - units;
    if rest > 0.5 || (rest == 0.5 && units % 2.0 == 1.0) {
        units += 1.0;
    }
    let (mut units, mut leading) = (units as u32, quantum + digits - 1);
    if units >= 1 << digits {
        // Rounding carried into the next binade.
        units >>= 1;
        leading += 1;
    }
    if units < 1 << (digits - 1) {
        return sign | units as u16; // a subnormal, or zero: exponent field 0
    }
    if leading > bias {
        return sign | infinity;
    }
    let biased = (leading + bias) as u16;
    sign | biased << (digits - 1) | (units - (1 << (digits - 1))) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_float16_and_bfloat16_survives_the_round_trip() {
        for dtype in [Dtype::Float16, Dtype::BFloat16] {
            for bits in 0..=u16::MAX {
                let value = from_bits(bits, dtype);
                if value.is_nan() {
                    assert!(from_bits(to_bits(value, dtype), dtype).is_nan());
                } else {
                    assert_eq!(to_bits(value, dtype), bits, "{dtype:?} {bits:#06x}");
                }
            }
        }
    }

    #[test]
    fn rounding_is_to_nearest_even_and_overflows_to_infinity() {
        let f16 = Dtype::Float16;
        assert_eq!(from_bits(to_bits(65504.0, f16), f16), 65504.0);
        assert_eq!(from_bits(to_bits(65519.9, f16), f16), 65504.0);
        assert_eq!(from_bits(to_bits(65520.0, f16), f16), f64::INFINITY); // the tie rounds up
        assert_eq!(from_bits(to_bits(1.0 + 2f64.powi(-11), f16), f16), 1.0); // tie to even
        assert_eq!(
            from_bits(to_bits(1.0 + 3.0 * 2f64.powi(-11), f16), f16),
            1.0 + 2f64.powi(-9)
        );
        assert_eq!(from_bits(to_bits(2f64.powi(-25), f16), f16), 0.0); // half the smallest: even
        assert_eq!(
            from_bits(to_bits(1.5 * 2f64.powi(-24), f16), f16),
            2f64.powi(-23)
        );
        let bf16 = Dtype::BFloat16;
        assert_eq!(from_bits(to_bits(1.0 + 2f64.powi(-8), bf16), bf16), 1.0);
        assert_eq!(
            from_bits(to_bits(1.0 + 3.0 * 2f64.powi(-8), bf16), bf16),
            1.0 + 2f64.powi(-6)
        );
        assert_eq!(to_bits(-0.0, bf16), 0x8000);
        assert_eq!(to_bits(1e39, bf16), 0x7f80);
    }
}
