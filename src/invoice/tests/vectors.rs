//! Every example of BOLT 11 "Examples" and "Examples of Invalid Invoices".

use bitcoin::hashes::{sha256, Hash};
use bitcoin::Network;

use super::{hex32, spec_payee};
use crate::invoice::*;
use crate::tx::PaymentHash;
use crate::units::Msat;
use crate::wire::ShortChannelId;

// The examples, verbatim from the spec (in its order).

/// Please make a donation of any amount using payment_hash 0001020304050607080900010203040506070809000102030405060708090102 to me @03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad
const DONATION: &str = "lnbc1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpl2pkx2ctnv5sxxmmwwd5kgetjypeh2ursdae8g6twvus8g6rfwvs8qun0dfjkxaq9qrsgq357wnc5r2ueh7ck6q93dj32dlqnls087fxdwk8qakdyafkq3yap9us6v52vjjsrvywa6rt52cm9r9zqt8r2t7mlcwspyetp5h2tztugp9lfyql";
/// Please send $3 for a cup of coffee to the same peer, within one minute
const COFFEE: &str = "lnbc2500u1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpu9qrsgquk0rl77nj30yxdy8j9vdx85fkpmdla2087ne0xh8nhedh8w27kyke0lp53ut353s06fv3qfegext0eh0ymjpf39tuven09sam30g4vgpfna3rh";
/// Please send 0.0025 BTC for a cup of nonsense (ナンセンス 1杯) to the same peer, within one minute
const NONSENSE: &str = "lnbc2500u1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpquwpc4curk03c9wlrswe78q4eyqc7d8d0xqzpu9qrsgqhtjpauu9ur7fw2thcl4y9vfvh4m9wlfyz2gem29g5ghe2aak2pm3ps8fdhtceqsaagty2vph7utlgj48u0ged6a337aewvraedendscp573dxr";
/// Now send $24 for an entire list of things (hashed)
const HASHED: &str = "lnbc20m1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqs9qrsgq7ea976txfraylvgzuxs8kgcw23ezlrszfnh8r6qtfpr6cxga50aj6txm9rxrydzd06dfeawfk6swupvz4erwnyutnjq7x39ymw6j38gp7ynn44";
/// The same, on testnet, with a fallback address mk2QpYatsKicvFVuTAQLBryyccRXMUaGHP
const TESTNET_P2PKH: &str = "lntb20m1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygshp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqfpp3x9et2e20v6pu37c5d9vax37wxq72un989qrsgqdj545axuxtnfemtpwkc45hx9d2ft7x04mt8q7y6t0k2dge9e7h8kpy9p34ytyslj3yu569aalz2xdk8xkd7ltxqld94u8h2esmsmacgpghe9k8";
/// On mainnet, with fallback address 1RustyRX2oai4EYYDpQGWvEL62BBGqN9T with extra routing info to go via nodes 029e03a901b85534ff1e92c43c74431f7ce72046060fcf7a95c37e148f78c77255 then 039e03a901b85534ff1e92c43c74431f7ce72046060fcf7a95c37e148f78c77255
const ROUTE_HINTS: &str = "lnbc20m1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqsfpp3qjmp7lwpagxun9pygexvgpjdc4jdj85fr9yq20q82gphp2nflc7jtzrcazrra7wwgzxqc8u7754cdlpfrmccae92qgzqvzq2ps8pqqqqqqpqqqqq9qqqvpeuqafqxu92d8lr6fvg0r5gv0heeeqgcrqlnm6jhphu9y00rrhy4grqszsvpcgpy9qqqqqqgqqqqq7qqzq9qrsgqdfjcdk6w3ak5pca9hwfwfh63zrrz06wwfya0ydlzpgzxkn5xagsqz7x9j4jwe7yj7vaf2k9lqsdk45kts2fd0fkr28am0u4w95tt2nsq76cqw0";
/// On mainnet, with fallback (P2SH) address 3EktnHQD7RiAE6uzMj2ZifT9YgRrkSgzQX
const P2SH: &str = "lnbc20m1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygshp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqfppj3a24vwu6r8ejrss3axul8rxldph2q7z99qrsgqz6qsgww34xlatfj6e3sngrwfy3ytkt29d2qttr8qz2mnedfqysuqypgqex4haa2h8fx3wnypranf3pdwyluftwe680jjcfp438u82xqphf75ym";
/// On mainnet, with fallback (P2WPKH) address bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4
const P2WPKH: &str = "lnbc20m1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygshp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqfppqw508d6qejxtdg4y5r3zarvary0c5xw7k9qrsgqt29a0wturnys2hhxpner2e3plp6jyj8qx7548zr2z7ptgjjc7hljm98xhjym0dg52sdrvqamxdezkmqg4gdrvwwnf0kv2jdfnl4xatsqmrnsse";
/// On mainnet, with fallback (P2WSH) address bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3
const P2WSH: &str = "lnbc20m1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygshp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqfp4qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q9qrsgq9vlvyj8cqvq6ggvpwd53jncp9nwc47xlrsnenq2zp70fq83qlgesn4u3uyf4tesfkkwwfg3qs54qe426hp3tz7z6sweqdjg05axsrjqp9yrrwc";
/// On mainnet, with fallback (P2TR) address bc1pptdvg0d2nj99568qn6ssdy4cygnwuxgw2ukmnwgwz7jpqjz2kszse2s3lm
const P2TR: &str = "lnbc20m1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqsfp4pptdvg0d2nj99568qn6ssdy4cygnwuxgw2ukmnwgwz7jpqjz2kszs9qrsgqy606dznq28exnydt2r4c29y56xjtn3sk4mhgjtl4pg2y4ar3249rq4ajlmj9jy8zvlzw7cr8mggqzm842xfr0v72rswzq9xvr4hknfsqwmn6xd";
/// Please send 0.00967878534 BTC for a list of items within one week, amount in pico-BTC
const PICO: &str = "lnbc9678785340p1pwmna7lpp5gc3xfm08u9qy06djf8dfflhugl6p7lgza6dsjxq454gxhj9t7a0sd8dgfkx7cmtwd68yetpd5s9xar0wfjn5gpc8qhrsdfq24f5ggrxdaezqsnvda3kkum5wfjkzmfqf3jkgem9wgsyuctwdus9xgrcyqcjcgpzgfskx6eqf9hzqnteypzxz7fzypfhg6trddjhygrcyqezcgpzfysywmm5ypxxjemgw3hxjmn8yptk7untd9hxwg3q2d6xjcmtv4ezq7pqxgsxzmnyyqcjqmt0wfjjq6t5v4khxsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygsxqyjw5qcqp2rzjq0gxwkzc8w6323m55m4jyxcjwmy7stt9hwkwe2qxmy8zpsgg7jcuwz87fcqqeuqqqyqqqqlgqqqqn3qq9q9qrsgqrvgkpnmps664wgkp43l22qsgdw4ve24aca4nymnxddlnp8vh9v2sdxlu5ywdxefsfvm0fq3sesf08uf6q9a2ke0hc9j6z6wlxg5z5kqpu2v9wz";
/// Please send $30 for coffee beans to the same peer, which supports features 8, 14 and 99, using secret 0x1111111111111111111111111111111111111111111111111111111111111111
const FEATURES_8_14_99: &str = "lnbc25m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5vdhkven9v5sxyetpdeessp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9q5sqqqqqqqqqqqqqqqqsgq2a25dxl5hrntdtn6zvydt7d66hyzsyhqs4wdynavys42xgl6sgx9c4g7me86a27t07mdtfry458rtjr0v92cnmswpsjscgt2vcse3sgpz3uapa";
/// Same, but all upper case.
const UPPER_CASE: &str = "LNBC25M1PVJLUEZPP5QQQSYQCYQ5RQWZQFQQQSYQCYQ5RQWZQFQQQSYQCYQ5RQWZQFQYPQDQ5VDHKVEN9V5SXYETPDEESSP5ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYGS9Q5SQQQQQQQQQQQQQQQQSGQ2A25DXL5HRNTDTN6ZVYDT7D66HYZSYHQS4WDYNAVYS42XGL6SGX9C4G7ME86A27T07MDTFRY458RTJR0V92CNMSWPSJSCGT2VCSE3SGPZ3UAPA";
/// Same, but including fields which must be ignored.
const IGNORED_FIELDS: &str = "lnbc25m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5vdhkven9v5sxyetpdeessp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9q5sqqqqqqqqqqqqqqqqsgq2qrqqqfppnqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqppnqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqpp4qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqhpnqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqhp4qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqspnqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqsp4qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqnp5qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqnpkqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqz599y53s3ujmcfjp5xrdap68qxymkqphwsexhmhr8wdz5usdzkzrse33chw6dlp3jhuhge9ley7j2ayx36kawe7kmgg8sv5ugdyusdcqzn8z9x";
/// Please send 0.01 BTC with payment metadata 0x01fafaf0
const METADATA: &str = "lnbc10m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdp9wpshjmt9de6zqmt9w3skgct5vysxjmnnd9jx2mq8q8a04uqsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9q2gqqqqqqsgq7hf8he7ecf7n4ffphs6awl9t6676rrclv9ckg3d3ncn7fct63p6s365duk5wrk202cfy3aj5xnnp5gs3vrdvruverwwq7yzhkf5a3xqpd05wjc";
/// Public-key recovery with high-S signature
const HIGH_S: &str = "lnbc1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpl2pkx2ctnv5sxxmmwwd5kgetjypeh2ursdae8g6twvus8g6rfwvs8qun0dfjkxaq9qrsgq357wnc5r2ueh7ck6q93dj32dlqnls087fxdwk8qakdyafkq3yap2r09nt4ndd0unm3z9u5t48y6ucv4r5sg7lk98c77ctvjczkspk5qprc90gx";
/// Same, but adding invalid unknown feature 100
const UNKNOWN_FEATURE_100: &str = "lnbc25m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5vdhkven9v5sxyetpdeessp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9q4psqqqqqqqqqqqqqqqqsgqtqyx5vggfcsll4wu246hz02kp85x4katwsk9639we5n5yngc3yhqkm35jnjw4len8vrnqnf5ejh0mzj9n3vz2px97evektfm2l6wqccp3y7372";
/// Bech32 checksum is invalid.
const BAD_CHECKSUM: &str = "lnbc2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpquwpc4curk03c9wlrswe78q4eyqc7d8d0xqzpuyk0sg5g70me25alkluzd2x62aysf2pyy8edtjeevuv4p2d5p76r4zkmneet7uvyakky2zr4cusd45tftc9c5fh0nnqpnl2jfll544esqchsrnt";
/// Malformed bech32 string (no 1)
const NO_SEPARATOR: &str = "pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpquwpc4curk03c9wlrswe78q4eyqc7d8d0xqzpuyk0sg5g70me25alkluzd2x62aysf2pyy8edtjeevuv4p2d5p76r4zkmneet7uvyakky2zr4cusd45tftc9c5fh0nnqpnl2jfll544esqchsrny";
/// Malformed bech32 string (mixed case)
const MIXED_CASE: &str = "LNBC2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpquwpc4curk03c9wlrswe78q4eyqc7d8d0xqzpuyk0sg5g70me25alkluzd2x62aysf2pyy8edtjeevuv4p2d5p76r4zkmneet7uvyakky2zr4cusd45tftc9c5fh0nnqpnl2jfll544esqchsrny";
/// Signature is not recoverable.
const NOT_RECOVERABLE: &str = "lnbc2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpusp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9qrsgqwgt7mcn5yqw3yx0w94pswkpq6j9uh6xfqqqtsk4tnarugeektd4hg5975x9am52rz4qskukxdmjemg92vvqz8nvmsye63r5ykel43pgz7zq0g2";
/// String is too short.
const TOO_SHORT: &str = "lnbc1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpl2pkx2ctnv5sxxmmwwd5kgetjypeh2ursdae8g6na6hlh";
/// Invalid multiplier
const BAD_MULTIPLIER: &str = "lnbc2500x1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpusp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9qrsgqrrzc4cvfue4zp3hggxp47ag7xnrlr8vgcmkjxk3j5jqethnumgkpqp23z9jclu3v0a7e0aruz366e9wqdykw6dxhdzcjjhldxq0w6wgqcnu43j";
/// Invalid sub-millisatoshi precision.
const SUB_MSAT: &str = "lnbc2500000001p1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpusp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9qrsgq0lzc236j96a95uv0m3umg28gclm5lqxtqqwk32uuk4k6673k6n5kfvx3d2h8s295fad45fdhmusm8sjudfhlf6dcsxmfvkeywmjdkxcp99202x";
/// Missing required `s` field.
const NO_PAYMENT_SECRET: &str = "lnbc20m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqs9qrsgq7ea976txfraylvgzuxs8kgcw23ezlrszfnh8r6qtfpr6cxga50aj6txm9rxrydzd06dfeawfk6swupvz4erwnyutnjq7x39ymw6j38gp49qdkj";
/// Non canonical signature (high-S) with 'n' field defined
const HIGH_S_WITH_N: &str = "lnbc25m1p70xwfzpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpl2pkx2ctnv5sxxmmwwd5kgetjypeh2ursdae8g6twvus8g6rfwvs8qun0dfjkxaqnp4q0n326hr8v9zprg8gsvezcch06gfaqqhde2aj730yg0durunfhv66sp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9qrsgqsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygsp5cfzp9ugllvk03rltd6hvndxj26ux6gcxc5azyxk060rj9tzghct5zvjlps76gx8wpq5yuu79688k8gnm2c0al6v608s96l0xzrrlqqwnzxmu";

/// The payment hash of every example but [`PICO`].
const SPEC_HASH: &str = "0001020304050607080900010203040506070809000102030405060708090102";
/// The timestamp of every example but [`PICO`].
const SPEC_TIMESTAMP: u64 = 1_496_314_658;
/// The description behind the examples' `h` field.
const CAKE: &str = "One piece of chocolate cake, one icecream cone, one pickle, one slice of \
    swiss cheese, one slice of salami, one lollypop, one piece of cherry pie, one sausage, one \
    cupcake, and one slice of watermelon";
/// Its SHA256.
const CAKE_HASH: &str = "3925b6f67e2c340036ed12093dd44e0368df1b6ea26c53dbe4811f58fd5db8c1";

fn decoded(bolt11: &str) -> DecodedInvoice {
    decode(bolt11).unwrap_or_else(|e| panic!("{bolt11}: {e}"))
}

/// The fields the examples share: timestamp, payee, payment hash and secret.
fn assert_spec_common(invoice: &DecodedInvoice) {
    assert_eq!(invoice.timestamp, SPEC_TIMESTAMP);
    assert_eq!(invoice.payee, spec_payee());
    assert_eq!(invoice.payment_hash, PaymentHash(hex32(SPEC_HASH)));
    assert_eq!(invoice.payment_secret, Some([0x11; 32]));
}

/// A hashed-description, 20 mBTC mainnet example with one fallback and default everything else.
fn assert_fallback_example(bolt11: &str, network: Network, fallback: &str) {
    let invoice = decoded(bolt11);
    assert_spec_common(&invoice);
    assert_eq!(invoice.network, network);
    assert_eq!(invoice.amount, Some(Msat(2_000_000_000)));
    assert_eq!(invoice.description, None);
    assert_eq!(invoice.description_hash, Some(hex32(CAKE_HASH)));
    assert_eq!(invoice.fallbacks, vec![fallback.to_owned()]);
    assert_eq!(invoice.expiry_secs, 3600);
    assert_eq!(invoice.min_final_cltv_expiry_delta, 18);
    assert_eq!(invoice.features.set_bits(), vec![8, 14]);
    invoice.check_payable(network, SPEC_TIMESTAMP).unwrap();
}

#[test]
fn donation_of_any_amount() {
    let invoice = decoded(DONATION);
    assert_spec_common(&invoice);
    assert_eq!(invoice.bolt11, DONATION);
    assert_eq!(invoice.network, Network::Bitcoin);
    assert_eq!(invoice.amount, None);
    assert_eq!(
        invoice.description.as_deref(),
        Some("Please consider supporting this project")
    );
    assert_eq!(invoice.description_hash, None);
    assert_eq!(invoice.expiry_secs, 3600);
    assert_eq!(invoice.expires_at(), SPEC_TIMESTAMP + 3600);
    assert_eq!(invoice.min_final_cltv_expiry_delta, 18);
    assert!(invoice.route_hints.is_empty());
    assert!(invoice.fallbacks.is_empty());
    assert_eq!(invoice.features.set_bits(), vec![8, 14]);
    assert_eq!(invoice.payment_metadata, None);
    assert_eq!(
        invoice.amount_to_pay(None),
        Err(InvoiceError::AmountMissing)
    );
    assert_eq!(invoice.amount_to_pay(Some(Msat(5))), Ok(Msat(5)));
}

#[test]
fn coffee_within_one_minute() {
    let invoice = decoded(COFFEE);
    assert_spec_common(&invoice);
    assert_eq!(invoice.amount, Some(Msat(250_000_000)));
    assert_eq!(invoice.description.as_deref(), Some("1 cup coffee"));
    assert_eq!(invoice.expiry_secs, 60);
    assert_eq!(invoice.features.set_bits(), vec![8, 14]);
    assert_eq!(invoice.amount_to_pay(None), Ok(Msat(250_000_000)));
    assert!(matches!(
        invoice.amount_to_pay(Some(Msat(1))),
        Err(InvoiceError::InvalidAmount(_))
    ));
}

#[test]
fn nonsense_in_utf8() {
    let invoice = decoded(NONSENSE);
    assert_spec_common(&invoice);
    assert_eq!(invoice.amount, Some(Msat(250_000_000)));
    assert_eq!(invoice.description.as_deref(), Some("ナンセンス 1杯"));
    assert_eq!(invoice.expiry_secs, 60);
}

#[test]
fn hashed_description() {
    let invoice = decoded(HASHED);
    assert_spec_common(&invoice);
    assert_eq!(invoice.amount, Some(Msat(2_000_000_000)));
    assert_eq!(invoice.description, None);
    assert_eq!(invoice.description_hash, Some(hex32(CAKE_HASH)));
    assert_eq!(
        sha256::Hash::hash(CAKE.as_bytes()).to_byte_array(),
        hex32(CAKE_HASH)
    );
    invoice.check_description(CAKE).unwrap();
    assert_eq!(
        invoice.check_description("one pickle"),
        Err(InvoiceError::DescriptionHashMismatch)
    );
}

#[test]
fn testnet_with_p2pkh_fallback() {
    assert_fallback_example(
        TESTNET_P2PKH,
        Network::Testnet,
        "mk2QpYatsKicvFVuTAQLBryyccRXMUaGHP",
    );
}

#[test]
fn mainnet_with_route_hints() {
    let invoice = decoded(ROUTE_HINTS);
    assert_spec_common(&invoice);
    assert_eq!(
        invoice.fallbacks,
        vec!["1RustyRX2oai4EYYDpQGWvEL62BBGqN9T".to_owned()]
    );
    let hop = |node: &str, scid: (u32, u32, u16), base, ppm, cltv| RouteHintHop {
        node_id: node.parse().unwrap(),
        short_channel_id: ShortChannelId::new(scid.0, scid.1, scid.2).unwrap(),
        fee_base_msat: base,
        fee_proportional_millionths: ppm,
        cltv_expiry_delta: cltv,
        htlc_minimum_msat: None,
        htlc_maximum_msat: None,
    };
    assert_eq!(
        invoice.route_hints,
        vec![vec![
            hop(
                "029e03a901b85534ff1e92c43c74431f7ce72046060fcf7a95c37e148f78c77255",
                (66051, 263_430, 1800),
                1,
                20,
                3
            ),
            hop(
                "039e03a901b85534ff1e92c43c74431f7ce72046060fcf7a95c37e148f78c77255",
                (197_637, 395_016, 2314),
                2,
                30,
                4
            ),
        ]]
    );
}

#[test]
fn mainnet_with_segwit_and_p2sh_fallbacks() {
    let examples = [
        (P2SH, "3EktnHQD7RiAE6uzMj2ZifT9YgRrkSgzQX"),
        (P2WPKH, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"),
        (
            P2WSH,
            "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
        ),
        (
            P2TR,
            "bc1pptdvg0d2nj99568qn6ssdy4cygnwuxgw2ukmnwgwz7jpqjz2kszse2s3lm",
        ),
    ];
    for (bolt11, fallback) in examples {
        assert_fallback_example(bolt11, Network::Bitcoin, fallback);
    }
}

#[test]
fn amount_in_pico_btc_with_expiry_cltv_and_route() {
    let invoice = decoded(PICO);
    assert_eq!(invoice.amount, Some(Msat(967_878_534)));
    assert_eq!(invoice.timestamp, 1_572_468_703);
    assert_eq!(invoice.payee, spec_payee());
    assert_eq!(
        invoice.payment_hash,
        PaymentHash(hex32(
            "462264ede7e14047e9b249da94fefc47f41f7d02ee9b091815a5506bc8abf75f"
        ))
    );
    assert_eq!(invoice.payment_secret, Some([0x11; 32]));
    assert_eq!(
        invoice.description.as_deref(),
        Some(
            "Blockstream Store: 88.85 USD for Blockstream Ledger Nano S x 1, \
             \"Back In My Day\" Sticker x 2, \"I Got Lightning Working\" Sticker x 2 and 1 more \
             items"
        )
    );
    assert_eq!(invoice.expiry_secs, 604_800);
    assert_eq!(invoice.min_final_cltv_expiry_delta, 10);
    assert_eq!(
        invoice.route_hints,
        vec![vec![RouteHintHop {
            node_id: "03d06758583bb5154774a6eb221b1276c9e82d65bbaceca806d90e20c108f4b1c7"
                .parse()
                .unwrap(),
            short_channel_id: ShortChannelId::new(589_390, 3312, 1).unwrap(),
            fee_base_msat: 1000,
            fee_proportional_millionths: 2500,
            cltv_expiry_delta: 40,
            htlc_minimum_msat: None,
            htlc_maximum_msat: None,
        }]]
    );
}

#[test]
fn unknown_odd_feature_is_ignored() {
    let invoice = decoded(FEATURES_8_14_99);
    assert_spec_common(&invoice);
    assert_eq!(invoice.amount, Some(Msat(2_500_000_000)));
    assert_eq!(invoice.description.as_deref(), Some("coffee beans"));
    assert_eq!(invoice.features.set_bits(), vec![8, 14, 99]);
    invoice
        .check_payable(Network::Bitcoin, SPEC_TIMESTAMP)
        .unwrap();
    let features = &invoice.to_json()["features"];
    assert_eq!(features["99"]["is_known"], false);
    assert_eq!(features["99"]["is_required"], false);
    assert_eq!(features["8"]["name"], "var_onion_optin");
}

#[test]
fn upper_case_decodes_to_the_same_invoice() {
    assert_eq!(decoded(UPPER_CASE), decoded(FEATURES_8_14_99));
}

#[test]
fn fields_that_must_be_ignored_are() {
    let plain = decoded(FEATURES_8_14_99);
    let invoice = decoded(IGNORED_FIELDS);
    assert_eq!(
        DecodedInvoice {
            bolt11: plain.bolt11.clone(),
            ..invoice
        },
        plain
    );
}

#[test]
fn payment_metadata() {
    let invoice = decoded(METADATA);
    assert_spec_common(&invoice);
    assert_eq!(invoice.amount, Some(Msat(1_000_000_000)));
    assert_eq!(
        invoice.description.as_deref(),
        Some("payment metadata inside")
    );
    assert_eq!(invoice.payment_metadata, Some(vec![0x01, 0xfa, 0xfa, 0xf0]));
    assert_eq!(invoice.features.set_bits(), vec![8, 14, 48]);
    invoice
        .check_payable(Network::Bitcoin, SPEC_TIMESTAMP)
        .unwrap();
}

#[test]
fn high_s_signature_recovers_the_payee() {
    let invoice = decoded(HIGH_S);
    assert_spec_common(&invoice);
    assert_eq!(
        DecodedInvoice {
            bolt11: DONATION.to_owned(),
            ..invoice
        },
        decoded(DONATION)
    );
}

#[test]
fn invalid_examples_are_refused() {
    let parse = InvoiceError::Parse(String::new());
    let cases = [
        (
            UNKNOWN_FEATURE_100,
            InvoiceError::UnknownRequiredFeatures(vec![100]),
        ),
        (BAD_CHECKSUM, parse.clone()),
        (NO_SEPARATOR, parse.clone()),
        (MIXED_CASE, parse.clone()),
        (NOT_RECOVERABLE, InvoiceError::BadSignature),
        (TOO_SHORT, parse.clone()),
        (BAD_MULTIPLIER, parse),
        (SUB_MSAT, InvoiceError::InvalidAmount(String::new())),
        (NO_PAYMENT_SECRET, InvoiceError::MissingField("s")),
        (HIGH_S_WITH_N, InvoiceError::BadSignature),
    ];
    for (bolt11, expected) in cases {
        // The reasons are LDK's words; the kind is what is checked.
        let kind = match decode(bolt11).expect_err(bolt11) {
            InvoiceError::Parse(_) => InvoiceError::Parse(String::new()),
            InvoiceError::InvalidAmount(_) => InvoiceError::InvalidAmount(String::new()),
            other => other,
        };
        assert_eq!(kind, expected, "{bolt11}");
    }
}
