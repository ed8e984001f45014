export { describeStorageContract } from './contract-suite';
export { messageRecord, textChannelRecord, userRecord } from './records';
