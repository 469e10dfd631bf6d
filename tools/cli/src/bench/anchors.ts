// Reference figures put beside ours (from shared/design/ANCHORS.md, which cites each source).

export interface Anchor {
  figure: string;
  source: string;
}

const PAPER = "the paper's proof of concept (Flask, Istio 1.4, OPA 0.21 sidecars, GKE), section 4";

export const ANCHORS = {
  startup: { figure: '5.94 s without OPA, 7.83 s with OPA: +32.7%', source: PAPER },
  policyMedian: { figure: 'OPA added 2.6 ms (allow-all) to 8.0 ms (+1000 rules) at the median', source: PAPER },
  policyGrowth: { figure: 'minimal 8.34 ms -> +1000 rules 13.50 ms: +62%', source: PAPER },
  requestMedians: { figure: 'no OPA 5.49, allow-all 8.11, minimal 8.34, +100 9.31, +1000 13.50 ms', source: PAPER },
  pairP99: { figure: 'Istio 1.20 Envoy client+server pair: +0.298 ms p99 (+0.228 ms p90)', source: 'Istio 1.20 performance docs (1 KB, 1000 rps, mTLS)' },
  opaDecision: { figure: 'OPA-Envoy policy evaluation: median 207 us, p99 2,766 us', source: 'opa-envoy-plugin docs (1000 rps)' },
  tlsThroughput: { figure: 'TLS 1.3 loopback between two Node processes: 1.6-2.0 GB/s', source: 'ANCHORS.md, Node 20 / OpenSSL 3 on this kind of machine' },
  rawAes: { figure: 'raw AES-256-GCM, 64 KiB frames: ~3 GB/s seal, 2.6-3.4 GB/s open', source: 'ANCHORS.md, Node 20 / OpenSSL 3 with AES-NI' },
  awsSdk: { figure: 'AWS Encryption SDK for JS streaming: 0.2-0.33 GB/s; decryptStream memory grows with size', source: 'aws-encryption-sdk-javascript #1656 (open)' },
  security: { figure: 'no end-to-end secure vs open comparison; storage was clear-text hostPath', source: PAPER },
  ffmpeg: { figure: '30 s 720p clip: VFX 4.6 s, LUT 9-10 s, HDR10 x265 6-14 s, loudnorm 0.6 s', source: 'ANCHORS.md, ffmpeg on 2 cores' },
} satisfies Record<string, Anchor>;
