export { captureVerify, type CaptureRunOptions } from './capture-run';
export { classify, type CapturedPod, type Verdict, type Role } from './classify';
export { buildReport, writeReport, type CaptureReport, type CaptureTotals } from './report';
export { readPcap, type TcpPacket } from './pcap';
export { TlsDirection } from './tls';
export { runAttempts, MARKER_HEADER, type Attempt } from './attempts';
