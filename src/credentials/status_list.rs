//! Where an award's revocation bit lives, and a list's bits as the Bitstring Status List
//! specification (W3C, 2025) encodes them.
//!
//! Every award has a status index, numbered from 1 by the database as awards are made
//! (migrations `…061_credential_status`). Indexes are grouped in lists of [`LIST_SIZE`] bits,
//! the specification's minimum, so that one list hides each holder among 131,072 others:
//! list 1 holds indexes 0 to 131,071 (0 is never given out), list 2 the next ones, and so on.

use std::io::Write;

use base64::Engine;
use flate2::{Compression, write::GzEncoder};

/// Bits in one status list: 16 KiB before compression.
pub const LIST_SIZE: u64 = 131_072;

/// An award's place in the status lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusPosition {
    /// The list's number, from 1.
    pub list: u64,
    /// The bit within the list, from 0.
    pub bit: u64,
}

impl StatusPosition {
    /// The position of a status index; `None` for a negative one, which the database never
    /// gives out.
    pub fn of(index: i64) -> Option<Self> {
        let index = u64::try_from(index).ok()?;
        Some(Self {
            list: index / LIST_SIZE + 1,
            bit: index % LIST_SIZE,
        })
    }
}

/// The status indexes list `list` (from 1) covers: `first..end`.
pub fn indexes_of(list: u64) -> Option<(i64, i64)> {
    let first = list.checked_sub(1)?.checked_mul(LIST_SIZE)?;
    let end = first.checked_add(LIST_SIZE)?;
    Some((i64::try_from(first).ok()?, i64::try_from(end).ok()?))
}

/// The lists in use when the highest status index given out is `last` (`None`: none yet):
/// list 1 always, and every list up to the one holding `last`.
pub fn lists_in_use(last: Option<i64>) -> u64 {
    last.and_then(StatusPosition::of).map_or(1, |p| p.list)
}

/// The `encodedList` of a list whose set bits are `set` (bits within the list): the
/// bitstring, bit 0 the leftmost (most significant) bit of the first byte, GZIP-compressed
/// and written as multibase base64url without padding (a leading `u`). Deterministic: the
/// same bits give the same text. Bits outside the list are ignored.
pub fn encode(set: impl IntoIterator<Item = u64>) -> String {
    let mut bits = vec![0u8; usize::try_from(LIST_SIZE / 8).expect("a list fits in memory")];
    for bit in set.into_iter().filter(|b| *b < LIST_SIZE) {
        let bit = usize::try_from(bit).expect("a bit of a list fits in usize");
        bits[bit / 8] |= 0x80 >> (bit % 8);
    }
    // A GZIP header without a file name and with a zero modification time, as flate2
    // writes by default: the output depends on the bits alone.
    let mut gzip = GzEncoder::new(Vec::new(), Compression::best());
    gzip.write_all(&bits).expect("writing to memory");
    let compressed = gzip.finish().expect("writing to memory");
    format!(
        "u{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(compressed)
    )
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use flate2::read::GzDecoder;
    use proptest::prelude::*;

    use super::*;

    fn decode(encoded: &str) -> Vec<u8> {
        let compressed = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(encoded.strip_prefix('u').expect("multibase base64url"))
            .unwrap();
        let mut bits = Vec::new();
        GzDecoder::new(compressed.as_slice())
            .read_to_end(&mut bits)
            .unwrap();
        bits
    }

    #[test]
    fn indexes_fall_into_lists_of_131072_bits_numbered_from_one() {
        assert_eq!(
            StatusPosition::of(1),
            Some(StatusPosition { list: 1, bit: 1 })
        );
        assert_eq!(
            StatusPosition::of(131_071),
            Some(StatusPosition {
                list: 1,
                bit: 131_071
            })
        );
        assert_eq!(
            StatusPosition::of(131_072),
            Some(StatusPosition { list: 2, bit: 0 })
        );
        assert_eq!(StatusPosition::of(-1), None);
        assert_eq!(indexes_of(1), Some((0, 131_072)));
        assert_eq!(indexes_of(2), Some((131_072, 262_144)));
        assert_eq!(indexes_of(0), None);
        assert_eq!(indexes_of(u64::MAX), None);
    }

    #[test]
    fn list_one_is_in_use_before_any_award_and_later_lists_once_an_index_reaches_them() {
        assert_eq!(lists_in_use(None), 1);
        assert_eq!(lists_in_use(Some(7)), 1);
        assert_eq!(lists_in_use(Some(131_072)), 2);
    }

    #[test]
    fn an_empty_list_is_16_kib_of_zeros_and_the_same_text_every_time() {
        let encoded = encode([]);
        assert_eq!(decode(&encoded), vec![0u8; 16_384]);
        assert_eq!(encode([]), encoded);
    }

    #[test]
    fn bit_zero_is_the_leftmost_bit_of_the_first_byte() {
        let bits = decode(&encode([0, 9, 131_071, 131_072]));
        assert_eq!(bits[0], 0b1000_0000);
        assert_eq!(bits[1], 0b0100_0000);
        assert_eq!(bits[16_383], 0b0000_0001);
        assert_eq!(bits.iter().map(|b| b.count_ones()).sum::<u32>(), 3);
    }

    proptest! {
        /// Decoding gives back exactly the bits that were set.
        #[test]
        fn encoding_keeps_exactly_the_set_bits(set in proptest::collection::btree_set(0..LIST_SIZE, 0..64)) {
            let bits = decode(&encode(set.iter().copied()));
            let decoded: std::collections::BTreeSet<u64> = (0..LIST_SIZE)
                .filter(|b| bits[usize::try_from(b / 8).unwrap()] & (0x80 >> (b % 8)) != 0)
                .collect();
            prop_assert_eq!(decoded, set);
        }
    }
}
