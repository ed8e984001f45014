export { describeStorageContract } from './contract-suite';
export { messageRecord, searchWord, textChannelRecord, userRecord } from './records';
