//! `open`: one channel, or several opened at once, validated and named.

use std::ops::Range;

use toml::Spanned;

use super::{is_name, KnownChannel, RawStep, Validator, NAME_RULE};
use crate::scenario::step::{OpenSpec, Step};

/// Where an `open` step's fields come from: the step itself, or one `channels` entry.
struct OpenFields<'r> {
    channel: Option<&'r Spanned<String>>,
    from: Option<&'r Spanned<String>>,
    to: Option<&'r Spanned<String>>,
    sat: Option<&'r Spanned<u64>>,
    push_msat: Option<&'r Spanned<u64>>,
    min_depth: Option<&'r Spanned<u32>>,
    /// Where to point when a field is missing.
    anchor: Range<usize>,
}

impl Validator<'_> {
    pub(super) fn open(&mut self, raw: &RawStep) -> Option<Step> {
        let specs = if let Some(list) = &raw.channels {
            let flat = raw.present();
            if let Some((key, span)) = flat.iter().find(|(k, _)| *k != "channels") {
                self.error(
                    span.clone(),
                    format!("`{key}` goes inside each `channels` entry when `channels` is given"),
                );
                return None;
            }
            if list.get_ref().is_empty() {
                self.error(list.span(), "`channels` is empty");
                return None;
            }
            let mut specs = Vec::new();
            for entry in list.get_ref() {
                let e = entry.get_ref();
                let fields = OpenFields {
                    channel: e.channel.as_ref(),
                    from: e.from.as_ref(),
                    to: e.to.as_ref(),
                    sat: e.sat.as_ref(),
                    push_msat: e.push_msat.as_ref(),
                    min_depth: e.min_depth.as_ref(),
                    anchor: entry.span(),
                };
                specs.push(self.open_one(&fields, &specs));
            }
            specs.into_iter().collect::<Option<Vec<_>>>()?
        } else {
            let fields = OpenFields {
                channel: raw.channel.as_ref(),
                from: raw.from.as_ref(),
                to: raw.to.as_ref(),
                sat: raw.sat.as_ref(),
                push_msat: raw.push_msat.as_ref(),
                min_depth: raw.min_depth.as_ref(),
                anchor: raw.kind.span(),
            };
            vec![self.open_one(&fields, &[])?]
        };
        let line = self.line_of(&raw.kind.span());
        for spec in &specs {
            self.channels.insert(
                spec.name.clone(),
                KnownChannel {
                    from: spec.from.clone(),
                    to: spec.to.clone(),
                    line,
                },
            );
        }
        Some(Step::Open { channels: specs })
    }

    /// Validates one channel to open; `same_step` holds the ones before it in the same step.
    fn open_one(&mut self, f: &OpenFields<'_>, same_step: &[Option<OpenSpec>]) -> Option<OpenSpec> {
        let (Some(from), Some(to), Some(sat)) = (f.from, f.to, f.sat) else {
            let key = match (f.from, f.to) {
                (None, _) => "from",
                (_, None) => "to",
                _ => "sat",
            };
            self.error(f.anchor.clone(), format!("`open` needs `{key}`"));
            return None;
        };
        let (from_name, to_name) = (self.node(from), self.node(to));
        let (from_name, to_name) = (from_name?, to_name?);
        if from_name == to_name {
            self.error(to.span(), "a node cannot open a channel to itself");
            return None;
        }
        if *sat.get_ref() == 0 {
            self.error(sat.span(), "`sat` must be above 0");
            return None;
        }
        let push_msat = f.push_msat.map_or(0, |p| *p.get_ref());
        if let Some(p) = f.push_msat {
            if *p.get_ref() > sat.get_ref().saturating_mul(1000) {
                self.error(p.span(), "`push-msat` is more than the channel holds");
                return None;
            }
        }
        let (name, name_span) = match f.channel {
            Some(c) => (c.get_ref().clone(), c.span()),
            None => (format!("{from_name}-{to_name}"), f.anchor.clone()),
        };
        if !is_name(&name) {
            self.error(name_span, NAME_RULE);
            return None;
        }
        let earlier = self.channels.get(&name).map(|c| c.line).or_else(|| {
            same_step
                .iter()
                .flatten()
                .any(|s| s.name == name)
                .then(|| self.line_of(&f.anchor))
        });
        if let Some(line) = earlier {
            let hint = if f.channel.is_none() {
                "; name this one with `channel = \"...\"`"
            } else {
                ""
            };
            self.error(
                name_span,
                format!("channel name `{name}` is already used (line {line}){hint}"),
            );
            return None;
        }
        Some(OpenSpec {
            name,
            from: from_name,
            to: to_name,
            sat: *sat.get_ref(),
            push_msat,
            min_depth: f.min_depth.map(|d| *d.get_ref()),
        })
    }
}
