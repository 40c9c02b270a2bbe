//! A small Nelder-Mead simplex minimiser.
//!
//! Why our own: Holt-Winters needs a derivative-free minimiser over 3
//! bounded parameters; `argmin` would add a large dependency tree for ~60
//! lines. Standard coefficients (reflection 1, expansion 2, contraction ½,
//! shrink ½); stops after `max_iter` iterations or when the simplex's
//! function values spread less than `tol`.

/// Minimises `f` from `x0` with initial step `step`; returns (x, f(x)).
pub fn nelder_mead<F: FnMut(&[f64]) -> f64>(
    mut f: F,
    x0: &[f64],
    step: f64,
    max_iter: usize,
    tol: f64,
) -> (Vec<f64>, f64) {
    let d = x0.len();
    let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(d + 1);
    let f0 = f(x0);
    simplex.push((x0.to_vec(), f0));
    for i in 0..d {
        let mut x = x0.to_vec();
        if let Some(v) = x.get_mut(i) {
            *v += step;
        }
        let fx = f(&x);
        simplex.push((x, fx));
    }
    let key = |v: f64| if v.is_nan() { f64::INFINITY } else { v };
    for _ in 0..max_iter {
        simplex.sort_by(|a, b| key(a.1).total_cmp(&key(b.1)));
        let (best, worst) = match (simplex.first(), simplex.last()) {
            (Some(b), Some(w)) => (key(b.1), key(w.1)),
            _ => break,
        };
        if (worst - best).abs() <= tol * (1.0 + best.abs()) {
            break;
        }
        // centroid of all but the worst
        let mut c = vec![0.0; d];
        for (x, _) in simplex.iter().take(d) {
            for (ci, xi) in c.iter_mut().zip(x) {
                *ci += xi / d as f64;
            }
        }
        let Some((xw, fw)) = simplex.last().cloned() else {
            break;
        };
        let at = |t: f64| -> Vec<f64> {
            c.iter()
                .zip(&xw)
                .map(|(ci, wi)| ci + t * (wi - ci))
                .collect()
        };
        let xr = at(-1.0);
        let fr = key(f(&xr));
        let second_worst = simplex
            .get(d.saturating_sub(1))
            .map_or(f64::INFINITY, |s| key(s.1));
        if fr < best {
            let xe = at(-2.0);
            let fe = key(f(&xe));
            let last = simplex.len() - 1;
            simplex[last] = if fe < fr { (xe, fe) } else { (xr, fr) };
        } else if fr < second_worst {
            let last = simplex.len() - 1;
            simplex[last] = (xr, fr);
        } else {
            let (xc, fc) = if fr < key(fw) {
                let x = at(-0.5);
                let v = key(f(&x));
                (x, v)
            } else {
                let x = at(0.5);
                let v = key(f(&x));
                (x, v)
            };
            if fc < key(fw).min(fr) {
                let last = simplex.len() - 1;
                simplex[last] = (xc, fc);
            } else {
                let xb = simplex.first().map(|s| s.0.clone()).unwrap_or_default();
                for s in simplex.iter_mut().skip(1) {
                    let x: Vec<f64> = xb
                        .iter()
                        .zip(&s.0)
                        .map(|(b, v)| b + 0.5 * (v - b))
                        .collect();
                    let fx = key(f(&x));
                    *s = (x, fx);
                }
            }
        }
    }
    simplex.sort_by(|a, b| key(a.1).total_cmp(&key(b.1)));
    simplex.into_iter().next().unwrap_or((x0.to_vec(), f0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimises_rosenbrock() {
        let (x, fx) = nelder_mead(
            |p| (1.0 - p[0]).powi(2) + 100.0 * (p[1] - p[0] * p[0]).powi(2),
            &[-1.2, 1.0],
            0.5,
            5000,
            1e-14,
        );
        assert!(fx < 1e-8, "{fx}");
        assert!((x[0] - 1.0).abs() < 1e-3 && (x[1] - 1.0).abs() < 1e-3);
    }
}
