"""What KEDA and the HorizontalPodAutoscaler decide for a ScaledObject with one Prometheus trigger (metric type
AverageValue), step by step, for the closed scaling loop of scripts/benchmark-scaling.

- KEDA (kedacore/keda v2.18.3): the HPA asks KEDA's metrics API server at each of its syncs, which runs the query then
  (no cache unless `useCachedMetrics`); an empty result reads as 0 while `ignoreNullValues` is true (its default) and
  is an error otherwise (pkg/scalers/prometheus_scaler.go, ExecutePromQuery). `pollingInterval` only decides
  activation (0 <-> 1 replicas), which a minReplicaCount of 1 or more never uses.
- The HPA (kubernetes v1.35.4, pkg/controller/podautoscaler): every 15 s (--horizontal-pod-autoscaler-sync-period),
  `GetExternalPerPodMetricReplicas` (replica_calculator.go): usage = the metric's total, ratio = usage / (target x
  current replicas); within the tolerance (0.1) the count stays, otherwise ceil(usage / target). A failed read leaves
  the count where it is (ScalingActive False). Then `stabilizeRecommendationWithBehaviors` (horizontal.go): the
  recommendation is held between the lowest recommendation of the scale-up window and the highest of the scale-down
  window; `convertDesiredReplicasWithBehaviorRate`: scale-up limited by the policies (default: 4 Pods or 100 % per
  15 s, the larger), scale-down by 100 % per 15 s; finally minReplicas..maxReplicas. Defaults from
  pkg/apis/autoscaling/v2/defaults.go (scale-up window 0 s, scale-down window the controller's 300 s).

Mirrors: kubernetes/kubernetes v1.35.4 pkg/controller/podautoscaler/horizontal.go, replica_calculator.go;
kedacore/keda v2.18.3 pkg/scalers/prometheus_scaler.go.
Checked by the real part: tests/e2e/test_real_parts.py, where the real KEDA and the real HPA of
kube-controller-manager v1.35.4 scale a predictor to ceil(rate / target).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

SYNC_SECONDS = 15
TOLERANCE = 0.1
DEFAULT_SCALE_DOWN_WINDOW = 300


@dataclass(frozen=True)
class Policy:
    kind: str  # "Pods" or "Percent"
    value: int
    period_seconds: int = 15


DEFAULT_SCALE_UP = (Policy("Pods", 4), Policy("Percent", 100))
DEFAULT_SCALE_DOWN = (Policy("Percent", 100),)


@dataclass
class Hpa:
    target: float
    """The per-replica AverageValue (the trigger's threshold)."""
    min_replicas: int
    max_replicas: int
    scale_down_window: int = DEFAULT_SCALE_DOWN_WINDOW
    scale_up_window: int = 0
    scale_up: tuple[Policy, ...] = DEFAULT_SCALE_UP
    """The ScaledObject's `advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.policies` (selectPolicy Max)."""
    replicas: int = 1
    _recommendations: list[tuple[float, int]] = field(default_factory=list)
    _events: list[tuple[float, int]] = field(default_factory=list)
    """(time, replica change) of past scalings, for the rate policies."""

    def __post_init__(self) -> None:
        self.replicas = max(self.replicas, self.min_replicas)

    def desired_from(self, usage: float | None, target: float | None = None) -> int:
        """GetExternalPerPodMetricReplicas: None is a failed read (the count stays)."""
        target = self.target if target is None else target
        if usage is None:
            return self.replicas
        ratio = usage / (target * self.replicas)
        if abs(1.0 - ratio) <= TOLERANCE:
            return self.replicas
        return math.ceil(usage / target)

    def sync(self, now: float, usage: float | None) -> int:
        """One HPA sync at `now` (seconds) with the metric's total (None: KEDA answered an error); the new count."""
        return self.sync_metrics(now, [(usage, self.target)])

    def sync_metrics(self, now: float, metrics: list[tuple[float | None, float]]) -> int:
        """One sync with several metrics (a ScaledObject's triggers), each (total, per-replica target): the HPA
        proposes a count per metric and takes the largest (computeReplicasForMetrics); none readable, nothing moves."""
        readable = [(usage, target) for usage, target in metrics if usage is not None]
        if not readable:  # ScalingActive False: nothing is recommended, nothing changes
            return self.replicas
        desired = max(self.desired_from(usage, target) for usage, target in readable)
        up = min([r for t, r in self._recommendations if t > now - self.scale_up_window] + [desired])
        down = max([r for t, r in self._recommendations if t > now - self.scale_down_window] + [desired])
        self._recommendations.append((now, desired))
        self._recommendations = [(t, r) for t, r in self._recommendations if t > now - max(self.scale_down_window, 60)]
        stabilized = min(max(self.replicas, up), down)
        limited = self._rate_limited(now, stabilized)
        new = min(max(limited, self.min_replicas), self.max_replicas)
        if new != self.replicas:
            self._events.append((now, new - self.replicas))
        self.replicas = new
        return new

    def _period_start(self, now: float, policy: Policy) -> int:
        """The count at the start of the policy's period: the current one less what was added, plus what was
        removed within it (getReplicasChangePerPeriod)."""
        return self.replicas - sum(change for t, change in self._events if t > now - policy.period_seconds)

    def _rate_limited(self, now: float, desired: int) -> int:
        if desired > self.replicas:  # calculateScaleUpLimitWithScalingRules, selectPolicy Max
            limits = [
                self._period_start(now, p) + p.value
                if p.kind == "Pods"
                else math.ceil(self._period_start(now, p) * (1 + p.value / 100))
                for p in self.scale_up
            ]
            return min(desired, max(limits))
        if desired < self.replicas:  # calculateScaleDownLimitWithBehaviors, selectPolicy Max
            limits = [
                self._period_start(now, p) - p.value
                if p.kind == "Pods"
                else int(self._period_start(now, p) * (1 - p.value / 100))
                for p in DEFAULT_SCALE_DOWN
            ]
            return max(desired, min(limits))
        return desired
